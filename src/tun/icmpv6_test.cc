// ICMPv6 errors against an independent reference checksum (below) and against a vector made with
// python3 (struct + a plain RFC 1071 sum; the script is in docs/vpn.md's "Test vectors").
#include "tun/icmpv6.h"

#include <gtest/gtest.h>

#include "tun/test_packets.h"

namespace qc::tun {
namespace {

using testing::make_packet;
using testing::node;

// The straightforward RFC 1071 sum over the RFC 8200 8.1 pseudo-header and the message, built as
// one buffer; returns 0 for a message whose checksum field is right.
std::uint16_t reference_sum(ByteView packet) {
  Bytes buf(packet.begin() + 8, packet.begin() + 40);  // src, dst
  std::size_t len = packet.size() - 40;
  buf.push_back(static_cast<std::uint8_t>(len >> 24));
  buf.push_back(static_cast<std::uint8_t>(len >> 16));
  buf.push_back(static_cast<std::uint8_t>(len >> 8));
  buf.push_back(static_cast<std::uint8_t>(len));
  buf.insert(buf.end(), {0, 0, 0, 58});
  buf.insert(buf.end(), packet.begin() + 40, packet.end());
  if (buf.size() % 2) buf.push_back(0);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < buf.size(); i += 2) sum += (buf[i] << 8) | buf[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

TEST(Icmpv6Test, UnreachableMatchesThePythonVector) {
  // Echo request fdcc:1234:5678:a1a1:: -> ...b2b2, id 0x1234 seq 1, payload "abcdefgh".
  auto orig = from_hex(
      "6000000000103a40fdcc12345678a1a1a1a1a1a1a1a1a1a1fdcc12345678b2b2b2b2b2b2b2b2b2b2800069521234"
      "00016162636465666768");
  auto want = from_hex(
      "6000000000403a40fdcc12345678a1a1a1a1a1a1a1a1a1a1fdcc12345678a1a1a1a1a1a1a1a1a1a1010347390000"
      "00006000000000103a40fdcc12345678a1a1a1a1a1a1a1a1a1a1fdcc12345678b2b2b2b2b2b2b2b2b2b280006952"
      "123400016162636465666768");
  ASSERT_TRUE(orig && want);
  auto h = parse_ipv6(*orig);
  ASSERT_TRUE(h);
  auto got =
      make_destination_unreachable(node(0xa1), *h, *orig, UnreachableCode::kAddressUnreachable);
  ASSERT_TRUE(got);
  EXPECT_EQ(to_hex(*got), to_hex(*want));
  EXPECT_EQ(reference_sum(*orig), 0) << "the vector's own echo request checksum";
}

TEST(Icmpv6Test, PacketTooBigQuotesAsMuchAsFitsIn1280) {
  auto self = node(0xa1);
  for (std::size_t payload : {0u, 1u, 7u, 100u, 1191u, 1192u, 1193u, 1400u, 9000u}) {
    Bytes orig = make_packet(self, node(0xb2), payload, 6);
    auto h = parse_ipv6(orig);
    ASSERT_TRUE(h);
    auto ptb = make_packet_too_big(self, *h, orig, 1234);
    ASSERT_TRUE(ptb);
    auto ph = parse_ipv6(*ptb);
    ASSERT_TRUE(ph) << ph.error().to_string();
    EXPECT_LE(ptb->size(), kIpv6MinMtu);
    EXPECT_EQ(ptb->size(), std::min<std::size_t>(1280, 48 + orig.size()));
    EXPECT_EQ(ph->next_header, 58);
    EXPECT_EQ(ph->src, self);
    EXPECT_EQ(ph->dst, self);  // the original's source
    EXPECT_EQ((*ptb)[40], 2);
    EXPECT_EQ((*ptb)[41], 0);
    EXPECT_EQ(((*ptb)[44] << 24) | ((*ptb)[45] << 16) | ((*ptb)[46] << 8) | (*ptb)[47], 1234);
    EXPECT_TRUE(std::equal(ptb->begin() + 48, ptb->end(), orig.begin()));
    EXPECT_EQ(reference_sum(*ptb), 0) << "payload " << payload;
  }
}

TEST(Icmpv6Test, UnreachableCodesAndOddLengths) {
  for (std::size_t payload : {3u, 4u, 5u, 501u}) {
    Bytes orig = make_packet(node(0xa1), node(0xb2), payload, 17);
    auto h = parse_ipv6(orig);
    ASSERT_TRUE(h);
    for (auto code : {UnreachableCode::kNoRoute, UnreachableCode::kAddressUnreachable}) {
      auto u = make_destination_unreachable(node(0xa1), *h, orig, code);
      ASSERT_TRUE(u);
      EXPECT_EQ((*u)[40], 1);
      EXPECT_EQ((*u)[41], static_cast<std::uint8_t>(code));
      EXPECT_EQ(reference_sum(*u), 0);
      EXPECT_EQ(icmpv6_checksum(node(0xa1), node(0xa1), ByteView(*u).subspan(40)), 0);
    }
  }
}

TEST(Icmpv6Test, NeverAnswersErrorsMulticastOrUnspecified) {
  auto self = node(0xa1);
  // An ICMPv6 error (type 1) is not answered; an echo request (128) is.
  Bytes err = make_packet(self, node(0xb2), 8, 58, 1);
  Bytes echo = make_packet(self, node(0xb2), 8, 58, 128);
  auto he = parse_ipv6(err);
  auto hq = parse_ipv6(echo);
  ASSERT_TRUE(he && hq);
  EXPECT_FALSE(make_destination_unreachable(self, *he, err, UnreachableCode::kNoRoute));
  EXPECT_FALSE(make_packet_too_big(self, *he, err, 1280));
  EXPECT_TRUE(make_destination_unreachable(self, *hq, echo, UnreachableCode::kNoRoute));
  // ICMPv6 with no type byte.
  Bytes empty = make_packet(self, node(0xb2), 0, 58);
  auto h0 = parse_ipv6(empty);
  ASSERT_TRUE(h0);
  EXPECT_FALSE(make_packet_too_big(self, *h0, empty, 1280));
  // Unspecified or multicast source; multicast destination (PTB allowed there).
  identity::Ipv6 zero{};
  identity::Ipv6 mcast{};
  mcast[0] = 0xff;
  mcast[15] = 1;
  for (const auto& src : {zero, mcast}) {
    Bytes p = make_packet(src, node(0xb2), 8);
    auto h = parse_ipv6(p);
    ASSERT_TRUE(h);
    EXPECT_FALSE(make_destination_unreachable(self, *h, p, UnreachableCode::kNoRoute));
    EXPECT_FALSE(make_packet_too_big(self, *h, p, 1280));
  }
  Bytes to_mcast = make_packet(self, mcast, 8);
  auto hm = parse_ipv6(to_mcast);
  ASSERT_TRUE(hm);
  EXPECT_FALSE(make_destination_unreachable(self, *hm, to_mcast, UnreachableCode::kNoRoute));
  EXPECT_TRUE(make_packet_too_big(self, *hm, to_mcast, 1280));
}

}  // namespace
}  // namespace qc::tun
