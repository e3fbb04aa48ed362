#include "tun/ipv6_packet.h"

#include <gtest/gtest.h>

#include "tun/test_packets.h"
#include "tun/tun_mtu.h"

namespace qc::tun {
namespace {

using testing::make_packet;
using testing::node;
using testing::partial;

TEST(Ipv6PacketTest, ParsesTheFixedHeader) {
  Bytes p = make_packet(node(0xa1), node(0xb2), 20, 6);
  p[0] = 0x6a;  // traffic class 0xab, flow label 0xbcdef
  p[1] = 0xbc;
  p[2] = 0xde;
  p[3] = 0xf0;
  auto h = parse_ipv6(p);
  ASSERT_TRUE(h) << h.error().to_string();
  EXPECT_EQ(h->traffic_class, 0xab);
  EXPECT_EQ(h->flow_label, 0xcdef0u);
  EXPECT_EQ(h->payload_length, 20);
  EXPECT_EQ(h->next_header, 6);
  EXPECT_EQ(h->hop_limit, 64);
  EXPECT_EQ(h->src, node(0xa1));
  EXPECT_EQ(h->dst, node(0xb2));
}

TEST(Ipv6PacketTest, RefusesShortWrongVersionAndLengthMismatch) {
  Bytes p = make_packet(node(1), node(2), 8);
  EXPECT_FALSE(parse_ipv6(ByteView(p).first(39)));
  EXPECT_FALSE(parse_ipv6({}));
  Bytes v4 = p;
  v4[0] = 0x45;
  EXPECT_FALSE(parse_ipv6(v4));
  Bytes trailing = p;
  trailing.push_back(0);
  EXPECT_FALSE(parse_ipv6(trailing));
  EXPECT_FALSE(parse_ipv6(ByteView(p).first(47)));
  Bytes jumbo = make_packet(node(1), node(2), 0);
  EXPECT_TRUE(parse_ipv6(jumbo));  // an empty payload is fine
  jumbo.push_back(1);              // payload length 0 with a payload: a jumbogram
  EXPECT_FALSE(parse_ipv6(jumbo));
}

TEST(Ipv6PacketTest, ClassifiesDestinations) {
  auto self = node(0xa1);
  EXPECT_EQ(classify(self, self).kind, Destination::kSelf);
  auto c = classify(node(0xb2), self);
  EXPECT_EQ(c.kind, Destination::kClusterPeer);
  EXPECT_EQ(c.peer, partial(0xb2));
  identity::Ipv6 other_cluster = node(0xb2);
  other_cluster[5] ^= 1;
  EXPECT_EQ(classify(other_cluster, self).kind, Destination::kNotCluster);
  identity::Ipv6 multicast{};
  multicast[0] = 0xff;
  multicast[1] = 0x02;
  multicast[15] = 2;
  EXPECT_EQ(classify(multicast, self).kind, Destination::kNotCluster);
  identity::Ipv6 link_local{};
  link_local[0] = 0xfe;
  link_local[1] = 0x80;
  EXPECT_EQ(classify(link_local, self).kind, Destination::kNotCluster);
}

TEST(Ipv6PacketTest, AddressesRoundTripAndSpoofCheck) {
  auto self = node(0xa1);
  EXPECT_EQ(peer_address(self, partial(0xb2)), node(0xb2));
  EXPECT_EQ(partial_of_address(node(0xb2)), partial(0xb2));
  auto h = parse_ipv6(make_packet(node(0xb2), self, 4));
  ASSERT_TRUE(h);
  EXPECT_TRUE(source_is_peer(*h, self, partial(0xb2)));
  EXPECT_FALSE(source_is_peer(*h, self, partial(0xc3)));
}

TEST(TunMtuTest, TheDatagramRoomIsTheMtuFrom1280) {
  EXPECT_EQ(tun_mtu_for(1280).value_or(0), 1280u);
  EXPECT_EQ(tun_mtu_for(1402).value_or(0), 1402u);
  EXPECT_EQ(tun_mtu_for(100000).value_or(0), 65535u);
  auto small = tun_mtu_for(1279);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().code, Errc::kUnsupported);
}

}  // namespace
}  // namespace qc::tun
