// The expose rules in VPN mode: InboundFilter alone, and inside VpnRouter.
#include "tun/inbound_filter.h"

#include <gtest/gtest.h>

#include "tun/test_packets.h"
#include "tun/vpn_router.h"

namespace qc::tun {
namespace {

using testing::make_packet;
using testing::node;

// A TCP segment from `src`:`sport` to `dst`:`dport` with `flags` (0x02 SYN, 0x10 ACK).
Bytes tcp(const identity::Ipv6& src, std::uint16_t sport, const identity::Ipv6& dst,
          std::uint16_t dport, std::uint8_t flags) {
  Bytes p = make_packet(src, dst, 20, kNextHeaderTcp);
  p[40] = static_cast<std::uint8_t>(sport >> 8);
  p[41] = static_cast<std::uint8_t>(sport);
  p[42] = static_cast<std::uint8_t>(dport >> 8);
  p[43] = static_cast<std::uint8_t>(dport);
  p[53] = flags;
  return p;
}
Bytes udp(const identity::Ipv6& src, std::uint16_t sport, const identity::Ipv6& dst,
          std::uint16_t dport) {
  Bytes p = make_packet(src, dst, 12, kNextHeaderUdp);
  p[40] = static_cast<std::uint8_t>(sport >> 8);
  p[41] = static_cast<std::uint8_t>(sport);
  p[42] = static_cast<std::uint8_t>(dport >> 8);
  p[43] = static_cast<std::uint8_t>(dport);
  return p;
}
bool allowed(InboundFilter& f, const Bytes& p, Timestamp now = kSecond) {
  auto h = parse_ipv6(p);
  EXPECT_TRUE(h);
  return f.allow(*h, p, now);
}

const identity::Ipv6 kUs = node(0xa1);
const identity::Ipv6 kPeer = node(0xb2);

TEST(InboundFilter, TcpConnectionsOnlyToExposedPorts) {
  InboundFilter f({.ports = {8080}, .udp_flow_timeout = 60 * kSecond, .max_udp_flows = 16});
  EXPECT_TRUE(allowed(f, tcp(kPeer, 40000, kUs, 8080, 0x02)));    // SYN to an exposed port
  EXPECT_FALSE(allowed(f, tcp(kPeer, 40000, kUs, 22, 0x02)));     // SYN elsewhere
  EXPECT_TRUE(allowed(f, tcp(kPeer, 22, kUs, 40000, 0x12)));      // SYN-ACK: our own connection
  EXPECT_TRUE(allowed(f, tcp(kPeer, 40000, kUs, 22, 0x10)));      // a segment of a connection
  Bytes short_tcp = make_packet(kPeer, kUs, 10, kNextHeaderTcp);  // no room for a TCP header
  EXPECT_FALSE(allowed(f, short_tcp));
}

TEST(InboundFilter, UdpToExposedPortsAndRepliesToOurFlows) {
  InboundFilter f({.ports = {5353}, .udp_flow_timeout = 10 * kSecond, .max_udp_flows = 16});
  EXPECT_TRUE(allowed(f, udp(kPeer, 1000, kUs, 5353)));
  EXPECT_FALSE(allowed(f, udp(kPeer, 53, kUs, 40000)));  // nobody asked
  Bytes query = udp(kUs, 40000, kPeer, 53);
  f.on_outgoing(*parse_ipv6(query), query, kSecond);
  EXPECT_TRUE(allowed(f, udp(kPeer, 53, kUs, 40000), 2 * kSecond));        // the answer
  EXPECT_FALSE(allowed(f, udp(node(0xc3), 53, kUs, 40000), 2 * kSecond));  // another node
  EXPECT_FALSE(allowed(f, udp(kPeer, 53, kUs, 40000), 20 * kSecond));      // too late
}

TEST(InboundFilter, IcmpPassesOtherProtocolsDoNot) {
  InboundFilter f(InboundFilter::Config{});
  EXPECT_TRUE(allowed(f, make_packet(kPeer, kUs, 16, kNextHeaderIcmpv6, 128)));
  EXPECT_FALSE(allowed(f, make_packet(kPeer, kUs, 16, 0)));   // hop-by-hop options first
  EXPECT_FALSE(allowed(f, make_packet(kPeer, kUs, 16, 44)));  // a fragment
}

TEST(InboundFilter, FlowTableIsBounded) {
  InboundFilter f({.ports = {}, .udp_flow_timeout = 60 * kSecond, .max_udp_flows = 8});
  for (std::uint16_t port = 1; port <= 100; ++port) {
    Bytes p = udp(kUs, port, kPeer, 53);
    f.on_outgoing(*parse_ipv6(p), p, port * kMillisecond);
  }
  EXPECT_EQ(f.udp_flows(), 8u);
  EXPECT_TRUE(allowed(f, udp(kPeer, 53, kUs, 100), kSecond));  // the newest survive
  EXPECT_FALSE(allowed(f, udp(kPeer, 53, kUs, 1), kSecond));
}

}  // namespace
}  // namespace qc::tun
