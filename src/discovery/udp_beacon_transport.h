// UdpBeaconTransport: beacons over real UDP sockets on standalone Asio.
//
// Per open interface, up to two sockets on the discovery port (SO_REUSEADDR, so several
// interfaces and nodes can share the port):
//   - IPv4 (when the interface has a broadcast address): SO_BROADCAST; sends to the interface's
//     broadcast address with IP_PKTINFO naming the interface.
//   - IPv6 (when it has a link-local address): joins the link-local group on that interface only;
//     sends to group%ifindex.
// Each socket is bound to its device with SO_BINDTODEVICE when allowed (root or CAP_NET_RAW on
// older kernels). When that fails it carries on unbound, and uses IP_PKTINFO / IPV6_RECVPKTINFO
// to drop the copies of datagrams that arrived on other interfaces, so a datagram is reported once,
// with the interface it arrived on.
//
// Threading: the node's thread, which runs `io`. Destroying the transport closes its sockets;
// pending Asio handlers then do nothing.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/address_v6.hpp>
#include <asio/ip/udp.hpp>
#include <map>
#include <memory>

#include "discovery/beacon_transport.h"
#include "discovery/options.h"

namespace qc::discovery {

class UdpBeaconTransport final : public BeaconTransport {
 public:
  // kInvalidArgument when options.ipv6_group is not an ff02::/16 address.
  static Result<std::unique_ptr<UdpBeaconTransport>> create(asio::io_context& io,
                                                            const Options& options);
  ~UdpBeaconTransport() override;

  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  Result<void> open(const Interface& itf) override;
  void close(const Interface& itf) override;
  Result<void> send(const Interface& itf, ByteView beacon) override;

  // Whether the sockets of interface `ifindex` are bound to their device (false: PKTINFO filter).
  bool bound_to_device(std::uint32_t ifindex) const;

 private:
  struct Sock;
  struct Entry {
    Interface itf;
    std::shared_ptr<Sock> v4, v6;
  };
  UdpBeaconTransport(asio::io_context& io, const Options& o, asio::ip::address_v6 group)
      : io_(io), options_(o), group_(group) {}
  Result<std::shared_ptr<Sock>> make_socket(const Interface& itf, bool v6);
  void wait(const std::shared_ptr<Sock>& s);
  void drain(Sock& s);

  asio::io_context& io_;
  Options options_;
  asio::ip::address_v6 group_;
  Receiver receiver_;
  std::map<std::uint32_t, Entry> open_;
};

}  // namespace qc::discovery
