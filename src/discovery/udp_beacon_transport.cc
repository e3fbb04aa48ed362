#include "discovery/udp_beacon_transport.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"

namespace qc::discovery {

struct UdpBeaconTransport::Sock {
  Sock(asio::io_context& io) : socket(io) {}
  asio::ip::udp::socket socket;
  std::uint32_t ifindex = 0;
  bool v6 = false;
  bool bound_to_device = false;
  bool closed = false;
};

namespace {

Error sys_error(const std::string& what, const Interface& itf, int err) {
  return Error{Errc::kIo, what + " on " + itf.name + ": " + std::strerror(err)};
}

int on = 1;

}  // namespace

Result<std::unique_ptr<UdpBeaconTransport>> UdpBeaconTransport::create(asio::io_context& io,
                                                                       const Options& options) {
  std::error_code ec;
  auto group = asio::ip::make_address_v6(options.ipv6_group, ec);
  if (ec || !group.is_multicast_link_local()) {
    return Err(Errc::kInvalidArgument, "discovery group \"" + options.ipv6_group +
                                           "\" is not a link-local multicast address (ff02::/16)");
  }
  return std::unique_ptr<UdpBeaconTransport>(new UdpBeaconTransport(io, options, group));
}

UdpBeaconTransport::~UdpBeaconTransport() {
  for (auto& [index, e] : open_) {
    for (auto* s : {&e.v4, &e.v6}) {
      if (!*s) continue;
      (*s)->closed = true;
      std::error_code ec;
      (*s)->socket.close(ec);
    }
  }
}

Result<std::shared_ptr<UdpBeaconTransport::Sock>> UdpBeaconTransport::make_socket(
    const Interface& itf, bool v6) {
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(sys_error("socket", itf, errno));
  auto fail = [&](const char* what) {
    int err = errno;
    ::close(fd);
    return Err(sys_error(what, itf, err));
  };
  auto s = std::make_shared<Sock>(io_);
  s->ifindex = itf.index;
  s->v6 = v6;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) return fail("SO_REUSEADDR");
  s->bound_to_device =
      options_.bind_to_device && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, itf.name.c_str(),
                                            static_cast<socklen_t>(itf.name.size())) == 0;
  if (options_.bind_to_device && !s->bound_to_device) {
    log::get("discovery")
        ->debug("{}: SO_BINDTODEVICE: {}; filtering by packet info instead", itf.name,
                std::strerror(errno));
  }
  if (!v6) {
    if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) return fail("SO_BROADCAST");
    if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on) != 0) return fail("IP_PKTINFO");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(options_.port);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
  } else {
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) return fail("IPV6_V6ONLY");
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0) {
      return fail("IPV6_RECVPKTINFO");
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(options_.port);
    a.sin6_addr = in6addr_any;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return fail("bind");
    ipv6_mreq m{};
    auto g = group_.to_bytes();
    std::memcpy(&m.ipv6mr_multiaddr, g.data(), 16);
    m.ipv6mr_interface = itf.index;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m) != 0) {
      return fail("joining the discovery group");
    }
    unsigned idx = itf.index;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx) != 0) {
      return fail("IPV6_MULTICAST_IF");
    }
    int hops = 1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof hops) != 0) {
      return fail("IPV6_MULTICAST_HOPS");
    }
  }
  std::error_code ec;
  s->socket.assign(v6 ? asio::ip::udp::v6() : asio::ip::udp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return Err(Errc::kIo, "socket on " + itf.name + ": " + ec.message());
  }
  return s;
}

Result<void> UdpBeaconTransport::open(const Interface& itf) {
  close(itf);
  Entry e;
  e.itf = itf;
  Error last{Errc::kInvalidArgument,
             itf.name + " has no IPv4 broadcast or IPv6 link-local address"};
  if (options_.ipv4 && itf.broadcast && itf.ipv4) {
    auto s = make_socket(itf, false);
    if (s) {
      e.v4 = std::move(*s);
    } else {
      last = s.error();
    }
  }
  if (options_.ipv6 && itf.link_local) {
    auto s = make_socket(itf, true);
    if (s) {
      e.v6 = std::move(*s);
    } else {
      last = s.error();
    }
  }
  if (!e.v4 && !e.v6) return Err(last);
  if (e.v4) wait(e.v4);
  if (e.v6) wait(e.v6);
  open_[itf.index] = std::move(e);
  return Ok();
}

void UdpBeaconTransport::close(const Interface& itf) {
  auto it = open_.find(itf.index);
  if (it == open_.end()) return;
  for (auto* s : {&it->second.v4, &it->second.v6}) {
    if (!*s) continue;
    (*s)->closed = true;
    std::error_code ec;
    (*s)->socket.close(ec);
  }
  open_.erase(it);
}

void UdpBeaconTransport::wait(const std::shared_ptr<Sock>& s) {
  // The handler holds the Sock (not the transport) alive; a closed Sock means the transport or
  // the interface is gone, and `this` must not be touched.
  s->socket.async_wait(asio::socket_base::wait_read, [this, s](const std::error_code& ec) {
    if (s->closed || ec) return;
    drain(*s);
    if (!s->closed) wait(s);
  });
}

void UdpBeaconTransport::drain(Sock& s) {
  const int fd = s.socket.native_handle();
  for (int i = 0; i < 64 && !s.closed; ++i) {
    std::uint8_t buf[512];
    alignas(cmsghdr) char ctrl[256];
    asio::ip::udp::endpoint from;
    iovec iov{buf, sizeof buf};
    msghdr mh{};
    mh.msg_name = from.data();
    mh.msg_namelen = static_cast<socklen_t>(from.capacity());
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    ssize_t n = ::recvmsg(fd, &mh, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        log::get("discovery")->debug("recvmsg: {}", std::strerror(errno));
      }
      return;
    }
    from.resize(mh.msg_namelen);
    std::uint32_t arrived = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        arrived = static_cast<std::uint32_t>(pi.ipi_ifindex);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo pi;
        std::memcpy(&pi, CMSG_DATA(c), sizeof pi);
        arrived = pi.ipi6_ifindex;
      }
    }
    if (arrived != 0 && arrived != s.ifindex) continue;  // another interface's socket reports it
    if (receiver_) receiver_(ByteView(buf, static_cast<std::size_t>(n)), from, s.ifindex);
  }
}

Result<void> UdpBeaconTransport::send(const Interface& itf, ByteView beacon) {
  auto it = open_.find(itf.index);
  if (it == open_.end()) return Err(Errc::kClosed, itf.name + " is not open for discovery");
  const Entry& e = it->second;
  bool any = false;
  std::string errors;
  if (e.v4 && e.itf.broadcast) {
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(options_.port);
    dst.sin_addr.s_addr = htonl(e.itf.broadcast->to_uint());
    alignas(cmsghdr) char ctrl[CMSG_SPACE(sizeof(in_pktinfo))] = {};
    iovec iov{const_cast<std::uint8_t*>(beacon.data()), beacon.size()};
    msghdr mh{};
    mh.msg_name = &dst;
    mh.msg_namelen = sizeof dst;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctrl;
    mh.msg_controllen = sizeof ctrl;
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    in_pktinfo pi{};
    pi.ipi_ifindex = static_cast<int>(e.itf.index);
    if (e.itf.ipv4) pi.ipi_spec_dst.s_addr = htonl(e.itf.ipv4->to_uint());
    std::memcpy(CMSG_DATA(c), &pi, sizeof pi);
    if (::sendmsg(e.v4->socket.native_handle(), &mh, MSG_DONTWAIT) >= 0) {
      any = true;
    } else {
      errors += std::string("IPv4 broadcast: ") + std::strerror(errno);
    }
  }
  if (e.v6) {
    sockaddr_in6 dst{};
    dst.sin6_family = AF_INET6;
    dst.sin6_port = htons(options_.port);
    auto g = group_.to_bytes();
    std::memcpy(&dst.sin6_addr, g.data(), 16);
    dst.sin6_scope_id = e.itf.index;
    if (::sendto(e.v6->socket.native_handle(), beacon.data(), beacon.size(), MSG_DONTWAIT,
                 reinterpret_cast<sockaddr*>(&dst), sizeof dst) >= 0) {
      any = true;
    } else {
      if (!errors.empty()) errors += "; ";
      errors += std::string("IPv6 multicast: ") + std::strerror(errno);
    }
  }
  if (!any) return Err(Errc::kIo, "beacon on " + itf.name + ": " + errors);
  return Ok();
}

bool UdpBeaconTransport::bound_to_device(std::uint32_t ifindex) const {
  auto it = open_.find(ifindex);
  if (it == open_.end()) return false;
  const Entry& e = it->second;
  return (!e.v4 || e.v4->bound_to_device) && (!e.v6 || e.v6->bound_to_device);
}

}  // namespace qc::discovery
