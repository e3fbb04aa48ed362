// The TUN device as the VPN sees it: a narrow interface over one layer-3 IPv6 packet queue in
// each direction, with the Linux implementation in linux_tun.h and MemoryTun below as its
// in-memory twin for tests.
//
// Threading: a TunDevice is used by one thread (the node's event loop); nothing here locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "tun/tcp_coalescer.h"

namespace qc::tun {

class TunDevice {
 public:
  virtual ~TunDevice() = default;

  // Reads one packet (a whole IPv6 packet, no framing) into `buf` and returns its size; 0 when no
  // packet is waiting (never blocks). A packet larger than `buf` is truncated by the kernel, so
  // size `buf` to at least mtu(). kIo on a device error.
  virtual Result<std::size_t> read(std::span<std::uint8_t> buf) = 0;

  // Writes one IPv6 packet towards the local applications. kIo on failure (EIO: device down);
  // kLimit when the device cannot take it now (the packet is dropped, as a full link drops).
  virtual Result<void> write(ByteView packet) = 0;

  // True when write_tcp_gso() works (LinuxTun with a virtio-net header).
  virtual bool tcp_gso() const { return false; }
  // Writes one TCP super-packet made by TcpCoalescer, which the kernel takes as `gso.segments`
  // segments in one go. Errors as write(); kUnsupported when tcp_gso() is false.
  virtual Result<void> write_tcp_gso(ByteView packet, const TcpGso& gso);

  // A descriptor that polls readable when read() has a packet; -1 when there is none (the twin).
  virtual int fd() const = 0;
  // The interface name ("qc0").
  virtual const std::string& name() const = 0;
  // The device MTU in bytes: the largest packet the kernel hands to read().
  virtual std::size_t mtu() const = 0;
};

// In-memory twin: inject() plays the local applications sending a packet into the TUN, written()
// holds what the VPN wrote back. Not thread-safe.
class MemoryTun final : public TunDevice {
 public:
  // `tcp_gso`: accept write_tcp_gso(), as LinuxTun with a virtio-net header does.
  explicit MemoryTun(std::string name = "qc0", std::size_t mtu = 1280, bool tcp_gso = false)
      : name_(std::move(name)), mtu_(mtu), tcp_gso_(tcp_gso) {}

  Result<std::size_t> read(std::span<std::uint8_t> buf) override;
  Result<void> write(ByteView packet) override;
  bool tcp_gso() const override { return tcp_gso_; }
  // Stores the segments the kernel would cut the super-packet into (split_tcp_gso) in written().
  Result<void> write_tcp_gso(ByteView packet, const TcpGso& gso) override;
  int fd() const override { return -1; }
  const std::string& name() const override { return name_; }
  std::size_t mtu() const override { return mtu_; }

  // Queues a packet for read(); unlike the kernel it does not enforce the MTU, so tests can hand
  // the VPN oversized packets.
  void inject(Bytes packet) { inbound_.push_back(std::move(packet)); }
  // Packets written so far, oldest first; take_written() empties the list.
  const std::vector<Bytes>& written() const { return written_; }
  std::vector<Bytes> take_written() { return std::exchange(written_, {}); }
  // Makes the next writes fail with kIo (true) or succeed again (false).
  void fail_writes(bool fail) { fail_writes_ = fail; }
  // write_tcp_gso() calls so far.
  std::size_t gso_writes() const { return gso_writes_; }
  // Makes write_tcp_gso() fail with kUnsupported, as a kernel that refuses super-packets.
  void refuse_gso(bool refuse) { refuse_gso_ = refuse; }

 private:
  std::string name_;
  std::size_t mtu_;
  std::deque<Bytes> inbound_;
  std::vector<Bytes> written_;
  bool fail_writes_ = false;
  bool tcp_gso_ = false;
  bool refuse_gso_ = false;
  std::size_t gso_writes_ = 0;
};

}  // namespace qc::tun
