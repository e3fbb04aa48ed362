#include "tun/rtnetlink.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace qc::tun {
namespace {

// Builds one netlink message: header, fixed body, then attributes, each 4-byte aligned.
class Message {
 public:
  Message(std::uint16_t type, std::uint16_t flags, const void* body, std::size_t body_len) {
    buf_.resize(NLMSG_LENGTH(body_len), 0);
    auto* h = header();
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    std::memcpy(buf_.data() + NLMSG_HDRLEN, body, body_len);
    pad();
  }
  void attr(std::uint16_t type, const void* data, std::size_t len) {
    rtattr a{};
    a.rta_len = static_cast<std::uint16_t>(RTA_LENGTH(len));
    a.rta_type = type;
    auto at = buf_.size();
    buf_.resize(at + RTA_LENGTH(len), 0);
    std::memcpy(buf_.data() + at, &a, sizeof a);
    std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
    pad();
  }
  Bytes& bytes() {
    header()->nlmsg_len = static_cast<std::uint32_t>(buf_.size());
    return buf_;
  }

 private:
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  void pad() { buf_.resize(NLMSG_ALIGN(buf_.size()), 0); }
  Bytes buf_;
};

std::string errno_text(int e) {
  return std::string(std::strerror(e));
}

}  // namespace

Result<Rtnetlink> Rtnetlink::open() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return Err(Errc::kIo, "rtnetlink socket: " + errno_text(errno));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Errc::kIo, "rtnetlink bind: " + errno_text(e));
  }
  return Rtnetlink(fd);
}

Rtnetlink::Rtnetlink(Rtnetlink&& o) noexcept : fd_(std::exchange(o.fd_, -1)), seq_(o.seq_) {}
Rtnetlink& Rtnetlink::operator=(Rtnetlink&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    seq_ = o.seq_;
  }
  return *this;
}
Rtnetlink::~Rtnetlink() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> Rtnetlink::transact(Bytes& msg, const std::string& what) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  h->nlmsg_seq = ++seq_;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel) < 0) {
    return Err(Errc::kIo, what + ": netlink send: " + errno_text(errno));
  }
  std::uint8_t buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Err(Errc::kIo, what + ": netlink receive: " + errno_text(errno));
    }
    // Walk the answers by offset, copying headers out (no casts of the byte buffer).
    auto len = static_cast<std::size_t>(n);
    std::size_t off = 0;
    while (off + sizeof(nlmsghdr) <= len) {
      nlmsghdr r{};
      std::memcpy(&r, buf + off, sizeof r);
      if (r.nlmsg_len < sizeof r || r.nlmsg_len > len - off) break;
      if (r.nlmsg_seq == seq_ && r.nlmsg_type == NLMSG_ERROR) {
        if (r.nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          return Err(Errc::kIo, what + ": short netlink answer");
        }
        nlmsgerr e{};
        std::memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof e);
        if (e.error == 0) return Ok();
        return Err(Errc::kIo, what + ": " + errno_text(-e.error));
      }
      off += NLMSG_ALIGN(r.nlmsg_len);
    }
  }
}

Result<void> Rtnetlink::set_mtu_and_up(int ifindex, std::uint32_t mtu) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = IFF_UP;
  ifi.ifi_change = IFF_UP;
  Message m(RTM_NEWLINK, 0, &ifi, sizeof ifi);
  m.attr(IFLA_MTU, &mtu, sizeof mtu);
  return transact(m.bytes(), "set MTU " + std::to_string(mtu) + " and link up");
}

Result<void> Rtnetlink::add_address(int ifindex, const identity::Ipv6& addr,
                                    std::uint8_t prefix_len) {
  ifaddrmsg ifa{};
  ifa.ifa_family = AF_INET6;
  ifa.ifa_prefixlen = prefix_len;
  ifa.ifa_flags = IFA_F_NODAD;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<std::uint32_t>(ifindex);
  // NLM_F_REPLACE: an address already there (a re-run) is updated, not an error.
  Message m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof ifa);
  m.attr(IFA_LOCAL, addr.data(), addr.size());
  m.attr(IFA_ADDRESS, addr.data(), addr.size());
  std::uint32_t flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE;
  m.attr(IFA_FLAGS, &flags, sizeof flags);
  return transact(m.bytes(), "add address " + identity::ipv6_to_string(addr) + "/" +
                                 std::to_string(prefix_len));
}

Result<void> Rtnetlink::replace_route(int ifindex, const identity::Ipv6& prefix,
                                      std::uint8_t prefix_len, const identity::Ipv6& src) {
  rtmsg rt{};
  rt.rtm_family = AF_INET6;
  rt.rtm_dst_len = prefix_len;
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_STATIC;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = RTN_UNICAST;
  Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt);
  m.attr(RTA_DST, prefix.data(), prefix.size());
  m.attr(RTA_PREFSRC, src.data(), src.size());
  auto oif = static_cast<std::uint32_t>(ifindex);
  m.attr(RTA_OIF, &oif, sizeof oif);
  return transact(m.bytes(), "add route " + identity::ipv6_to_string(prefix) + "/" +
                                 std::to_string(prefix_len));
}

Result<void> Rtnetlink::delete_link(int ifindex) {
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  Message m(RTM_DELLINK, 0, &ifi, sizeof ifi);
  return transact(m.bytes(), "delete link " + std::to_string(ifindex));
}

}  // namespace qc::tun
