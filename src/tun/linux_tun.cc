#include "tun/linux_tun.h"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "tun/ipv6_packet.h"
#include "tun/rtnetlink.h"

namespace qc::tun {
namespace {

std::string errno_text(int e) {
  return std::string(std::strerror(e));
}

// Opens /dev/net/tun and attaches to (or creates) `name`. Returns the descriptor or -errno.
int attach(const std::string& name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -errno;
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
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
  if (config.offloads) {
    return Err(Errc::kUnsupported, "TUN offloads (virtio-net header, TSO) are not implemented");
  }
  auto logger = log::get("tun");

  bool existed = if_nametoindex(name.c_str()) != 0;
  int fd = attach(name);
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
    fd = attach(name);
    if (fd < 0) return Err(Errc::kIo, "re-creating TUN device " + name + ": " + errno_text(-fd));
  }

  int ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  std::unique_ptr<LinuxTun> tun(new LinuxTun(fd, name, config.mtu, ifindex));
  if (ifindex == 0) return Err(Errc::kIo, "TUN device " + name + " has no interface index");

  QC_TRY(nl->set_mtu_and_up(ifindex, static_cast<std::uint32_t>(config.mtu)));
  QC_TRY(nl->add_address(ifindex, config.address, 128));
  identity::Ipv6 prefix{};
  std::copy_n(config.address.begin(), kClusterPrefixSize, prefix.begin());
  QC_TRY(nl->replace_route(ifindex, prefix, 48, config.address));
  logger->info("TUN device {} up: address {}/128, route {}/48, MTU {}", name,
               identity::ipv6_to_string(config.address), identity::ipv6_to_string(prefix),
               config.mtu);
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
    ssize_t n = ::read(fd_, buf.data(), buf.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
    return Err(Errc::kIo, "read from " + name_ + ": " + errno_text(errno));
  }
}

Result<void> LinuxTun::write(ByteView packet) {
  for (;;) {
    ssize_t n = ::write(fd_, packet.data(), packet.size());
    if (n >= 0) return Ok();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      return Err(Errc::kLimit, "write to " + name_ + ": device busy, packet dropped");
    }
    return Err(Errc::kIo, "write to " + name_ + ": " + errno_text(errno));
  }
}

}  // namespace qc::tun
