// A minimal rtnetlink client for configuring the TUN device: link MTU and state, an IPv6 address,
// an IPv6 route, link deletion. Each call sends one request and waits for the kernel's
// acknowledgement, so an error comes back as a value with the kernel's errno text.
//
// The socket belongs to the network namespace of the thread that called open(). Not thread-safe;
// blocking (the kernel answers these requests at once).
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "identity/identity.h"

namespace qc::tun {

class Rtnetlink {
 public:
  // kIo when the socket cannot be opened.
  static Result<Rtnetlink> open();
  Rtnetlink(Rtnetlink&& o) noexcept;
  Rtnetlink& operator=(Rtnetlink&& o) noexcept;
  Rtnetlink(const Rtnetlink&) = delete;
  Rtnetlink& operator=(const Rtnetlink&) = delete;
  ~Rtnetlink();

  // Sets the MTU (bytes) and brings the link up.
  Result<void> set_mtu_and_up(int ifindex, std::uint32_t mtu);
  // Adds `addr`/`prefix_len` without duplicate address detection (usable at once) and without a
  // prefix route; an address already present is not an error.
  Result<void> add_address(int ifindex, const identity::Ipv6& addr, std::uint8_t prefix_len);
  // Adds or replaces the main-table route `prefix`/`prefix_len` via the link, preferring `src` as
  // the source address. Replacing takes over a stale route of the same prefix on another link.
  Result<void> replace_route(int ifindex, const identity::Ipv6& prefix, std::uint8_t prefix_len,
                             const identity::Ipv6& src);
  // Deletes the link.
  Result<void> delete_link(int ifindex);

 private:
  explicit Rtnetlink(int fd) : fd_(fd) {}
  // Sends the request in `msg` (a complete nlmsghdr + body) and reads the ACK.
  Result<void> transact(Bytes& msg, const std::string& what);

  int fd_ = -1;
  std::uint32_t seq_ = 1;
};

}  // namespace qc::tun
