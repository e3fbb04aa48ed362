// InboundFilter: which packets from the mesh may reach this node's TUN in VPN mode, so that a
// node's services are reachable on its cluster address under the same `expose` rules as through
// SOCKS5 (issue 7: "the same expose rules").
//
// Rules for a packet addressed to us (sans-IO, stateless for TCP, a small flow table for UDP):
//   - ICMPv6: allowed (echo, and the errors path MTU discovery and failing connections need).
//   - TCP: a connection attempt (SYN without ACK) only to an exposed port; every other segment
//     passes (it belongs to a connection that exists, or the kernel answers it with a reset).
//   - UDP: to an exposed port, or a reply on a flow this node opened (it sent to that peer from
//     the destination port to the source port within `udp_flow_timeout`).
//   - Anything else (other protocols, extension headers, truncated transport headers): refused.
// Exposed ports are the mesh ports of [expose]; in VPN mode the service must listen on that port
// of the node's address (or on all addresses): the "=host:port" target of an entry applies to
// proxied streams only.
//
// Threading: one thread (the node's event loop), like VpnRouter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <tuple>

#include "common/bytes.h"
#include "common/clock.h"
#include "identity/identity.h"
#include "tun/ipv6_packet.h"

namespace qc::tun {

constexpr std::uint8_t kNextHeaderTcp = 6;
constexpr std::uint8_t kNextHeaderUdp = 17;

class InboundFilter {
 public:
  struct Config {
    std::set<std::uint16_t> ports;  // exposed mesh ports (TCP and UDP)
    Duration udp_flow_timeout = 60 * kSecond;
    std::size_t max_udp_flows = 4096;  // the oldest flow is forgotten beyond this
  };
  explicit InboundFilter(Config config) : config_(std::move(config)) {}

  // A packet this node sends into the mesh (records UDP flows so their replies come back).
  void on_outgoing(const Ipv6Header& h, ByteView packet, Timestamp now);
  // Whether a packet from the mesh, addressed to this node, may be written to the TUN.
  bool allow(const Ipv6Header& h, ByteView packet, Timestamp now);

  std::size_t udp_flows() const { return flows_.size(); }

 private:
  // (peer address, peer port, our port)
  using Flow = std::tuple<identity::Ipv6, std::uint16_t, std::uint16_t>;
  Config config_;
  std::map<Flow, Timestamp> flows_;
};

}  // namespace qc::tun
