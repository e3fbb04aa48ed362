// TcpCoalescer: which segments merge, what a merged packet looks like, and that nothing of one
// connection is reordered. split_tcp_gso() (the kernel's segmentation, as tests see it) must give
// back the original segments.
#include "tun/tcp_coalescer.h"

#include <gtest/gtest.h>

#include <map>

#include "tun/test_packets.h"

namespace qc::tun {
namespace {

using testing::make_packet;
using testing::make_tcp;
using testing::node;

const identity::Ipv6 kSrc = node(0xb2);
const identity::Ipv6 kDst = node(0xa1);
// Timestamps (NOP, NOP, TS 10 bytes): what Linux sends on every segment.
const Bytes kTimestamps = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};

Bytes payload(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i * 7);
  return b;
}

// Segment `i` of a connection from port `sport`: `size` bytes at seq 1000 + i * size.
Bytes segment(int i, std::size_t size = 1300, std::uint8_t flags = 0x10, std::uint16_t sport = 40000,
              ByteView options = kTimestamps) {
  return make_tcp(kSrc, sport, kDst, 5201, 1000 + static_cast<std::uint32_t>(i * size), 77, flags,
                  payload(size, static_cast<std::uint8_t>(i)), options);
}

struct Out {
  Bytes packet;
  bool gso = false;
  TcpGso info;
};

std::vector<Out> drain(TcpCoalescer& c) {
  std::vector<Out> out;
  c.flush([&](ByteView p, const TcpGso* g) {
    out.push_back({Bytes(p.begin(), p.end()), g != nullptr, g ? *g : TcpGso{}});
  });
  EXPECT_TRUE(c.empty());
  return out;
}

// The segment with its checksum field zeroed (split_tcp_gso leaves it 0).
Bytes without_checksum(Bytes p) {
  p[kIpv6HeaderSize + 16] = p[kIpv6HeaderSize + 17] = 0;
  return p;
}

std::uint16_t pseudo_sum(std::size_t l4) {
  std::uint32_t sum = 0;
  for (const auto& a : {kSrc, kDst})
    for (std::size_t i = 0; i < 16; i += 2) sum += static_cast<std::uint32_t>(a[i] << 8 | a[i + 1]);
  sum += static_cast<std::uint32_t>(l4 >> 16) + static_cast<std::uint32_t>(l4 & 0xffff) + 6;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

TEST(TcpCoalescer, MergesConsecutiveSegmentsOfOneConnection) {
  TcpCoalescer c;
  std::vector<Bytes> in;
  for (int i = 0; i < 10; ++i) in.push_back(segment(i, 1300, i == 9 ? 0x18 : 0x10));
  for (const Bytes& p : in) c.add(p);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(out[0].gso);
  EXPECT_EQ(out[0].info.segments, 10);
  EXPECT_EQ(out[0].info.segment_size, 1300);
  EXPECT_EQ(out[0].info.header_size, kIpv6HeaderSize + 20 + kTimestamps.size());
  const Bytes& m = out[0].packet;
  ASSERT_EQ(m.size(), out[0].info.header_size + 10 * 1300);
  auto h = parse_ipv6(m);
  ASSERT_TRUE(h) << "a well-formed IPv6 packet: payload length " << m.size() - 40;
  EXPECT_EQ(m[kIpv6HeaderSize + 13], 0x18) << "PSH of the last segment";
  EXPECT_EQ(m[kIpv6HeaderSize + 16] << 8 | m[kIpv6HeaderSize + 17], pseudo_sum(m.size() - 40))
      << "the pseudo-header sum, for CHECKSUM_PARTIAL";
  auto back = split_tcp_gso(m, out[0].info);
  ASSERT_EQ(back.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i)
    EXPECT_EQ(back[i], without_checksum(in[i])) << "segment " << i;
}

// What the kernel does with CHECKSUM_PARTIAL (sum from the TCP header on, with the pseudo-header
// sum in the field, complemented) must give the checksum of the whole merged packet.
TEST(TcpCoalescer, TheMergedPacketsChecksumCompletesCorrectly) {
  TcpCoalescer c;
  for (int i = 0; i < 6; ++i) c.add(segment(i));
  c.add(make_tcp(kSrc, 40000, kDst, 5201, 1000 + 6 * 1300, 77, 0x10, payload(333, 6),
                 kTimestamps));  // an odd total length
  auto out = drain(c);
  ASSERT_EQ(out.size(), 1u);
  Bytes m = out[0].packet;
  ByteView tcp(m.data() + kIpv6HeaderSize, m.size() - kIpv6HeaderSize);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < tcp.size(); i += 2)
    sum += static_cast<std::uint32_t>(tcp[i] << 8 | (i + 1 < tcp.size() ? tcp[i + 1] : 0));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  auto completed = static_cast<std::uint16_t>(~sum);
  m[kIpv6HeaderSize + 16] = m[kIpv6HeaderSize + 17] = 0;
  EXPECT_EQ(completed, testing::l4_checksum(kSrc, kDst, 6,
                                            ByteView(m.data() + kIpv6HeaderSize,
                                                     m.size() - kIpv6HeaderSize)));
}

// Split with checksums (what VpnRouter writes when a device refuses super-packets): each segment
// is the original one, checksum included.
TEST(TcpCoalescer, SplitWithChecksumsGivesBackTheOriginals) {
  TcpCoalescer c;
  std::vector<Bytes> in;
  for (int i = 0; i < 4; ++i) in.push_back(segment(i));
  in.push_back(make_tcp(kSrc, 40000, kDst, 5201, 1000 + 4 * 1300, 77, 0x18, payload(101, 4),
                        kTimestamps));
  for (const Bytes& p : in) c.add(p);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(split_tcp_gso(out[0].packet, out[0].info, true), in);
}

TEST(TcpCoalescer, ALoneSegmentPassesUnchanged) {
  TcpCoalescer c;
  Bytes s = segment(0);
  c.add(s);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].gso);
  EXPECT_EQ(out[0].packet, s) << "its own checksum kept";
}

TEST(TcpCoalescer, AShortSegmentIsTheLastOfAMerge) {
  TcpCoalescer c;
  c.add(segment(0));
  c.add(segment(1));
  Bytes short_one = make_tcp(kSrc, 40000, kDst, 5201, 1000 + 2 * 1300, 77, 0x10, payload(500, 2),
                             kTimestamps);
  c.add(short_one);
  Bytes after = make_tcp(kSrc, 40000, kDst, 5201, 1000 + 2 * 1300 + 500, 77, 0x10,
                         payload(500, 3), kTimestamps);
  c.add(after);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].info.segments, 3);
  EXPECT_EQ(out[0].packet.size(), out[0].info.header_size + 2 * 1300 + 500);
  EXPECT_FALSE(out[1].gso);
  EXPECT_EQ(out[1].packet, after);
}

TEST(TcpCoalescer, AGapOrALargerSegmentStartsANewMerge) {
  TcpCoalescer c;
  c.add(segment(0));
  c.add(segment(1));
  c.add(segment(3));  // segment 2 is missing
  c.add(segment(4));
  Bytes larger = make_tcp(kSrc, 40000, kDst, 5201, 1000 + 5 * 1300, 77, 0x10, payload(1400, 5),
                          kTimestamps);
  c.add(larger);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].info.segments, 2);
  EXPECT_EQ(out[1].info.segments, 2);
  EXPECT_EQ(split_tcp_gso(out[1].packet, out[1].info)[0], without_checksum(segment(3)));
  EXPECT_EQ(out[2].packet, larger);
}

TEST(TcpCoalescer, OnlyIdenticalHeadersMerge) {
  // Each differs from segment 0's header in one field that must match.
  Bytes other_ack = make_tcp(kSrc, 40000, kDst, 5201, 1000 + 1300, 78, 0x10, payload(1300, 1),
                             kTimestamps);
  Bytes other_options = segment(1, 1300, 0x10, 40000, Bytes{1, 1, 8, 10, 0, 0, 0, 8, 0, 0, 0, 9});
  Bytes other_window = segment(1);
  other_window[kIpv6HeaderSize + 15] ^= 1;
  Bytes other_hop_limit = segment(1);
  other_hop_limit[7] = 63;
  Bytes other_flow_label = segment(1);
  other_flow_label[3] = 5;
  Bytes other_traffic_class = segment(1);
  other_traffic_class[1] |= 0x10;
  Bytes accurate_ecn_bit = segment(1);  // the reserved bit next to the data offset (AE)
  accurate_ecn_bit[kIpv6HeaderSize + 12] |= 1;
  Bytes cwr = segment(1, 1300, 0x90);
  for (const Bytes& second : {other_ack, other_options, other_window, other_hop_limit,
                              other_flow_label, other_traffic_class, accurate_ecn_bit, cwr}) {
    TcpCoalescer c;
    c.add(segment(0));
    c.add(second);
    auto out = drain(c);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_FALSE(out[0].gso);
    EXPECT_EQ(out[1].packet, second);
  }
}

TEST(TcpCoalescer, ControlSegmentsPassAndKeepTheirPlace) {
  // FIN, SYN, RST, URG, ECE and a pure ACK are never merged; one in the middle of a connection's
  // segments ends the merge before it, so the connection's order is kept.
  for (std::uint8_t flags : {0x11, 0x12, 0x14, 0x30, 0x50}) {
    TcpCoalescer c;
    c.add(segment(0));
    c.add(segment(1));
    Bytes control = segment(2, 1300, flags);
    c.add(control);
    c.add(segment(3));
    c.add(segment(4));
    auto out = drain(c);
    ASSERT_EQ(out.size(), 3u) << "flags " << int(flags);
    EXPECT_EQ(out[0].info.segments, 2);
    EXPECT_EQ(out[1].packet, control);
    EXPECT_EQ(out[2].info.segments, 2);
  }
  TcpCoalescer c;
  c.add(segment(0));
  Bytes pure_ack = make_tcp(kSrc, 40000, kDst, 5201, 1000 + 1300, 77, 0x10, {}, kTimestamps);
  c.add(pure_ack);
  c.add(segment(1));
  auto out = drain(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].packet, pure_ack);
}

// A packet with an extension header may be part of any connection between its two addresses: it
// closes their merges, so nothing of theirs after it joins a merge from before it.
TEST(TcpCoalescer, AnExtensionHeaderClosesTheMergesBetweenItsAddresses) {
  TcpCoalescer c;
  c.add(segment(0));
  c.add(segment(1));
  Bytes with_options = make_packet(kSrc, kDst, 64, 60);  // destination options first
  c.add(with_options);
  c.add(segment(2));
  c.add(segment(3));
  auto out = drain(c);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].info.segments, 2);
  EXPECT_EQ(out[1].packet, with_options);
  EXPECT_EQ(out[2].info.segments, 2);
}

TEST(TcpCoalescer, PshEndsAMerge) {
  TcpCoalescer c;
  c.add(segment(0));
  c.add(segment(1, 1300, 0x18));
  c.add(segment(2));
  c.add(segment(3));
  auto out = drain(c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].info.segments, 2);
  EXPECT_EQ(out[1].info.segments, 2);
}

TEST(TcpCoalescer, ConnectionsMergeSeparatelyEachInItsOwnOrder) {
  TcpCoalescer c;
  for (int i = 0; i < 4; ++i) {
    c.add(segment(i, 1300, 0x10, 40000));
    c.add(segment(i, 1300, 0x10, 40001));
  }
  Bytes udp = make_packet(kSrc, kDst, 200, 17);
  c.add(udp);
  auto out = drain(c);
  ASSERT_EQ(out.size(), 3u);
  for (int k = 0; k < 2; ++k) {
    ASSERT_TRUE(out[k].gso);
    auto back = split_tcp_gso(out[k].packet, out[k].info);
    ASSERT_EQ(back.size(), 4u);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(back[i], without_checksum(segment(i, 1300, 0x10, k == 0 ? 40000 : 40001)));
  }
  EXPECT_EQ(out[2].packet, udp);
}

// More connections at once than the coalescer searches: fewer merges, but every connection's
// segments still come out once each and in order.
TEST(TcpCoalescer, ManyConnectionsAtOnceKeepEachOneInOrder) {
  TcpCoalescer c;
  constexpr int kConnections = 40;
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < kConnections; ++k)
      c.add(segment(i, 1300, 0x10, static_cast<std::uint16_t>(40000 + k)));
  EXPECT_EQ(c.held(), 6u * kConnections);
  std::map<std::uint16_t, std::vector<Bytes>> seen;
  c.flush([&](ByteView p, const TcpGso* g) {
    std::vector<Bytes> parts = g ? split_tcp_gso(p, *g, true) : std::vector<Bytes>{Bytes(p.begin(), p.end())};
    for (Bytes& s : parts)
      seen[static_cast<std::uint16_t>(s[kIpv6HeaderSize] << 8 | s[kIpv6HeaderSize + 1])].push_back(s);
  });
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kConnections));
  for (int k = 0; k < kConnections; ++k) {
    auto& v = seen[static_cast<std::uint16_t>(40000 + k)];
    ASSERT_EQ(v.size(), 6u);
    for (int i = 0; i < 6; ++i)
      EXPECT_EQ(v[i], segment(i, 1300, 0x10, static_cast<std::uint16_t>(40000 + k)));
  }
}

TEST(TcpCoalescer, MergesStayWithinTheIpv6PayloadLimitAnd64Segments) {
  TcpCoalescer c;
  for (int i = 0; i < 60; ++i) c.add(segment(i, 1400));
  auto out = drain(c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_LE(out[0].packet.size() - kIpv6HeaderSize, TcpCoalescer::kMaxPayload);
  EXPECT_EQ(out[0].info.segments, (65535 - 32) / 1400);
  EXPECT_EQ(out[0].info.segments + out[1].info.segments, 60);

  for (int i = 0; i < 100; ++i) c.add(segment(i, 100));
  out = drain(c);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].info.segments, 64);
  EXPECT_EQ(out[1].info.segments, 36);
}

TEST(TcpCoalescer, MalformedPacketsPassUntouched) {
  Bytes short_header = make_packet(kSrc, kDst, 10, 6);  // no room for a TCP header
  Bytes bad_offset = segment(1);
  bad_offset[kIpv6HeaderSize + 12] = 0x40;  // data offset 4 words: less than the header
  Bytes beyond = segment(2);
  beyond[kIpv6HeaderSize + 12] = 0xf0;  // 60 bytes: fine; then cut the packet short
  beyond.resize(kIpv6HeaderSize + 40);
  beyond[4] = 0;
  beyond[5] = 40;
  Bytes wrong_length = segment(3);
  wrong_length[5] ^= 1;  // payload length does not match
  Bytes ipv4ish = segment(4);
  ipv4ish[0] = 0x45;
  for (const Bytes& bad : {short_header, bad_offset, beyond, wrong_length, ipv4ish}) {
    TcpCoalescer c;
    c.add(segment(0));
    c.add(bad);
    auto out = drain(c);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[1].packet, bad);
    EXPECT_FALSE(out[1].gso);
  }
}

}  // namespace
}  // namespace qc::tun
