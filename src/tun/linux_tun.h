// The real TUN device on Linux: /dev/net/tun with IFF_TUN | IFF_NO_PI (plain IPv6 packets, no
// framing), configured over rtnetlink (rtnetlink.h) with no external programs:
//   - the node address as a /128 (no prefix route, no duplicate address detection);
//   - the MTU, and the link up;
//   - a route for the cluster /48 via the device, with the node address as preferred source.
//
// Lifetime and cleanup: the device is not persistent, so the kernel deletes it, with its address
// and route, when the descriptor closes: at destruction, at exit, and when the process crashes.
// Stale state at start (rule, see docs/vpn.md): a persistent TUN of the same name with no process
// attached (left by another tool or an older build) is deleted and created afresh; a TUN of that
// name that another process holds (EBUSY) is refused, since it belongs to a running node; an
// interface of that name that is not a TUN is refused. A leftover route for the same /48 on another
// device is replaced.
//
// Permissions: creating the device needs CAP_NET_ADMIN. Without it open() returns kIo with a
// message that says so and how to run without VPN mode; the caller keeps its other front ends.
//
// The device belongs to the network namespace of the thread that calls open(). Threading: one
// thread uses the object; the descriptor may be polled by the event loop.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "identity/identity.h"
#include "tun/tun_device.h"

namespace qc::tun {

struct TunConfig {
  std::string name = "qc0";  // at most 15 characters
  identity::Ipv6 address{};  // the node address; its first 6 bytes are the cluster /48
  std::size_t mtu = 1280;    // bytes; at least 1280 (the IPv6 minimum)
  // A virtio-net header on every read and write (IFF_VNET_HDR), so that write_tcp_gso() can hand
  // the kernel TCP super-packets (TcpCoalescer). Reads stay plain packets with complete checksums:
  // no TSO or checksum offload is asked for on the way in. Falls back to no header, with a log
  // line, on a kernel that does not offer it (TUNGETFEATURES).
  bool tcp_gso = false;
};

class LinuxTun final : public TunDevice {
 public:
  // Creates and configures the device (see the file comment for the stale-state rule and errors).
  static Result<std::unique_ptr<LinuxTun>> open(const TunConfig& config);
  // Closes the descriptor; the kernel removes the device, its address and its route.
  ~LinuxTun() override;
  LinuxTun(const LinuxTun&) = delete;
  LinuxTun& operator=(const LinuxTun&) = delete;

  Result<std::size_t> read(std::span<std::uint8_t> buf) override;
  Result<void> write(ByteView packet) override;
  bool tcp_gso() const override { return vnet_hdr_; }
  Result<void> write_tcp_gso(ByteView packet, const TcpGso& gso) override;
  int fd() const override { return fd_; }
  const std::string& name() const override { return name_; }
  std::size_t mtu() const override { return mtu_; }
  int ifindex() const { return ifindex_; }

  // Changes the device MTU (1280..65535), e.g. when the channels allow larger packets
  // (tun_mtu.h). Must be called from a thread in the device's network namespace.
  Result<void> set_mtu(std::size_t mtu);

 private:
  LinuxTun(int fd, std::string name, std::size_t mtu, int ifindex, bool vnet_hdr)
      : fd_(fd), name_(std::move(name)), mtu_(mtu), ifindex_(ifindex), vnet_hdr_(vnet_hdr) {}
  // One write with a virtio-net header (zero for a plain packet; none on a device without one).
  // `gso`: EINVAL (the kernel refuses the super-packet) is kUnsupported.
  Result<void> write_with_header(const void* header, ByteView packet, bool gso = false);

  int fd_;
  std::string name_;
  std::size_t mtu_;
  int ifindex_;
  bool vnet_hdr_;
};

// The message for a caller that lacks CAP_NET_ADMIN: what VPN mode needs, and how to run anyway.
std::string permission_hint(const std::string& device);

}  // namespace qc::tun
