#include "tun/linux_tun.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "tun/inet_checksum.h"
#include "tun/ipv6_packet.h"
#include "tun/rtnetlink.h"

namespace qc::tun {
namespace {

// struct virtio_net_hdr (linux/virtio_net.h does not compile as C++: a member is named
// `class`). Fields in native byte order, as the TUN driver reads them on a little-endian host
// (and on any host without TUNSETVNETBE/LE).
struct VnetHeader {
  std::uint8_t flags = 0;
  std::uint8_t gso_type = 0;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
};
static_assert(sizeof(VnetHeader) == 10);
constexpr std::uint8_t kVnetNeedsCsum = 1;   // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr std::uint8_t kVnetGsoNone = 0;     // VIRTIO_NET_HDR_GSO_NONE
constexpr std::uint8_t kVnetGsoTcpv6 = 4;    // VIRTIO_NET_HDR_GSO_TCPV6

std::string errno_text(int e) {
  return std::string(std::strerror(e));
}

// Opens /dev/net/tun and attaches to (or creates) `name`, with a virtio-net header on every
// packet when `vnet_hdr`. Returns the descriptor or -errno.
int attach(const std::string& name, bool vnet_hdr) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  ifreq ifr{};
  ifr.ifr_flags = static_cast<short>(IFF_TUN | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0));
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  int size = sizeof(VnetHeader);
  // No offload on the way in (TUNSETOFFLOAD 0): what we read is whole packets with their
  // checksums computed, so only the header is new.
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0 ||
      (vnet_hdr && (::ioctl(fd, TUNSETVNETHDRSZ, &size) != 0 || ::ioctl(fd, TUNSETOFFLOAD, 0) != 0))) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

// True when the kernel's TUN driver offers the virtio-net header (TUNGETFEATURES).
bool kernel_offers_vnet_hdr() {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  unsigned int features = 0;
  bool ok = ::ioctl(fd, TUNGETFEATURES, &features) == 0 && (features & IFF_VNET_HDR) != 0;
  ::close(fd);
  return ok;
}

// Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field holds
// the pseudo-header sum, and the sum over [start, end) with it in place is the checksum.
bool complete_checksum(std::span<std::uint8_t> p, std::size_t start, std::size_t offset) {
  if (start + offset + 2 > p.size()) return false;
  std::uint16_t c = checksum_of(checksum_add(0, p.subspan(start)));
  if (c == 0 && offset == 6) c = 0xffff;  // UDP: 0 means "no checksum"
  p[start + offset] = static_cast<std::uint8_t>(c >> 8);
  p[start + offset + 1] = static_cast<std::uint8_t>(c);
  return true;
}

}  // namespace

std::string permission_hint(const std::string& device) {
  return "VPN mode needs root or CAP_NET_ADMIN to create the TUN device " + device +
         ": run qc as root, or grant the capability (sudo setcap cap_net_admin+ep $(command -v "
         "qc)), or turn VPN mode off in the configuration; the SOCKS5 proxy and the API work "
         "without it";
}

Result<std::unique_ptr<LinuxTun>> LinuxTun::open(const TunConfig& config) {
  const std::string& name = config.name;
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos) {
    return Err(Errc::kInvalidArgument,
               "TUN device name \"" + name + "\" must be 1 to 15 characters without '/'");
  }
  if (config.mtu < kIpv6MinMtu || config.mtu > 65535) {
    return Err(Errc::kInvalidArgument,
               "TUN MTU " + std::to_string(config.mtu) + " is outside 1280..65535");
  }
  auto logger = log::get("tun");

  bool existed = if_nametoindex(name.c_str()) != 0;
  bool vnet_hdr = config.tcp_gso && kernel_offers_vnet_hdr();
  if (config.tcp_gso && !vnet_hdr)
    logger->warn("TUN device {}: the kernel offers no virtio-net header; writing one packet at a "
                 "time", name);
  int fd = attach(name, vnet_hdr);
  if (fd == -EPERM || fd == -EACCES) return Err(Errc::kIo, permission_hint(name));
  if (fd == -ENOENT || fd == -ENODEV) {
    return Err(Errc::kIo, "no /dev/net/tun (" + errno_text(-fd) +
                              "): load the tun module (modprobe tun) or turn VPN mode off");
  }
  if (fd == -EBUSY) {
    return Err(Errc::kExists, "TUN device " + name +
                                  " is held by another running process (another node?): choose "
                                  "another device name");
  }
  if (fd < 0 && existed) {
    return Err(Errc::kExists, "an interface named " + name + " exists and is not a TUN device (" +
                                  errno_text(-fd) + "): choose another device name");
  }
  if (fd < 0) return Err(Errc::kIo, "creating TUN device " + name + ": " + errno_text(-fd));

  auto nl = Rtnetlink::open();
  if (!nl) {
    ::close(fd);
    return Err(nl.error());
  }
  if (existed) {
    // A persistent TUN nobody held: a leftover. Delete it and start from a clean device, so no
    // stale address, route or setting survives.
    logger->warn("deleting stale persistent TUN device {} left by an earlier run", name);
    ::ioctl(fd, TUNSETPERSIST, 0);
    ::close(fd);
    if (int idx = static_cast<int>(if_nametoindex(name.c_str())); idx != 0) {
      QC_TRY(nl->delete_link(idx));
    }
    fd = attach(name, vnet_hdr);
    if (fd < 0) return Err(Errc::kIo, "re-creating TUN device " + name + ": " + errno_text(-fd));
  }

  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  std::unique_ptr<LinuxTun> tun(new LinuxTun(fd, name, config.mtu, ifindex, vnet_hdr));
  if (ifindex == 0) return Err(Errc::kIo, "TUN device " + name + " has no interface index");

  QC_TRY(nl->set_mtu_and_up(ifindex, static_cast<std::uint32_t>(config.mtu)));
  QC_TRY(nl->add_address(ifindex, config.address, 128));
  identity::Ipv6 prefix{};
  std::copy_n(config.address.begin(), kClusterPrefixSize, prefix.begin());
  QC_TRY(nl->replace_route(ifindex, prefix, 48, config.address));
  logger->info("TUN device {} up: address {}/128, route {}/48, MTU {}{}", name,
               identity::ipv6_to_string(config.address), identity::ipv6_to_string(prefix),
               config.mtu, vnet_hdr ? ", TCP segments written merged (GSO)" : "");
  return tun;
}

Result<void> LinuxTun::set_mtu(std::size_t mtu) {
  if (mtu < kIpv6MinMtu || mtu > 65535) {
    return Err(Errc::kInvalidArgument,
               "TUN MTU " + std::to_string(mtu) + " is outside 1280..65535");
  }
  auto nl = Rtnetlink::open();
  if (!nl) return Err(nl.error());
  QC_TRY(nl->set_mtu_and_up(ifindex_, static_cast<std::uint32_t>(mtu)));
  mtu_ = mtu;
  return Ok();
}

LinuxTun::~LinuxTun() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> LinuxTun::read(std::span<std::uint8_t> buf) {
  for (;;) {
    VnetHeader h{};
    iovec iov[2] = {{&h, sizeof h}, {buf.data(), buf.size()}};
    ssize_t n = vnet_hdr_ ? ::readv(fd_, iov, 2) : ::read(fd_, buf.data(), buf.size());
    if (n >= 0) {
      if (!vnet_hdr_) return static_cast<std::size_t>(n);
      if (static_cast<std::size_t>(n) < sizeof h) return Err(Errc::kIo, "short read from " + name_);
      std::size_t size = static_cast<std::size_t>(n) - sizeof h;
      // No offload was asked for, so neither of these is expected; handled all the same.
      if (h.gso_type != kVnetGsoNone) continue;  // a super-packet: not ours to cut
      if ((h.flags & kVnetNeedsCsum) != 0 &&
          !complete_checksum(buf.first(std::min(size, buf.size())), h.csum_start, h.csum_offset))
        continue;
      return size;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return Err(Errc::kIo, "read from " + name_ + ": " + errno_text(errno));
  }
}

Result<void> LinuxTun::write(ByteView packet) {
  static const VnetHeader kPlain{};  // the kernel checks the checksum, as without a header
  return write_with_header(vnet_hdr_ ? &kPlain : nullptr, packet);
}

Result<void> LinuxTun::write_tcp_gso(ByteView packet, const TcpGso& gso) {
  if (!vnet_hdr_) return TunDevice::write_tcp_gso(packet, gso);
  VnetHeader h{};
  h.flags = kVnetNeedsCsum;
  h.gso_type = kVnetGsoTcpv6;
  h.hdr_len = gso.header_size;
  h.gso_size = gso.segment_size;
  h.csum_start = static_cast<std::uint16_t>(kIpv6HeaderSize);
  h.csum_offset = 16;  // the TCP checksum field
  return write_with_header(&h, packet, true);
}

Result<void> LinuxTun::write_with_header(const void* header, ByteView packet, bool gso) {
  iovec iov[2] = {{const_cast<void*>(header), sizeof(VnetHeader)},
                  {const_cast<std::uint8_t*>(packet.data()), packet.size()}};
  for (;;) {
    ssize_t n = header != nullptr ? ::writev(fd_, iov, 2)
                                  : ::write(fd_, packet.data(), packet.size());
    if (n >= 0) return Ok();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      return Err(Errc::kLimit, "write to " + name_ + ": device busy, packet dropped");
    }
    if (gso && errno == EINVAL) {
      return Err(Errc::kUnsupported, "write to " + name_ + ": the kernel refused a TCP super-packet");
    }
    return Err(Errc::kIo, "write to " + name_ + ": " + errno_text(errno));
  }
}

}  // namespace qc::tun
