// VpnRouter against the in-memory TUN and a scripted fake mesh.
#include "tun/vpn_router.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "tun/test_packets.h"

namespace qc::tun {
namespace {

using testing::make_packet;
using testing::node;
using testing::partial;

// A mesh whose answer per peer the test sets; records what was sent and wanted.
class FakeMesh : public MeshPort {
 public:
  SendResult send_datagram(const identity::PartialId& peer, ByteView packet) override {
    auto it = answer.find(peer);
    SendResult r = it == answer.end() ? SendResult{Status::kNotReady, 0} : it->second;
    if (r.status == Status::kSent) sent.push_back({peer, Bytes(packet.begin(), packet.end())});
    return r;
  }
  void want_peer(const identity::PartialId& peer) override { wanted.push_back(peer); }

  std::map<identity::PartialId, SendResult> answer;
  std::vector<std::pair<identity::PartialId, Bytes>> sent;
  std::vector<identity::PartialId> wanted;
};

class VpnRouterTest : public ::testing::Test {
 protected:
  VpnRouter::Config config() {
    VpnRouter::Config c;
    c.self = node(0xa1);
    c.queue_packets = 4;
    c.max_pending_peers = 2;
    c.queue_timeout = 5 * kSecond;
    return c;
  }
  // Every packet read is delivered, dropped in exactly one counter, or still queued.
  void check_accounting(std::size_t still_queued) {
    const auto& k = router.counters();
    EXPECT_EQ(k.tun_read, k.tun_malformed + k.tun_not_cluster + k.tun_to_self + k.mesh_sent +
                              k.queue_full + k.too_big + k.unreachable + k.queue_expired +
                              still_queued);
  }
  Bytes to(std::uint8_t peer, std::size_t payload = 100) {
    return make_packet(node(0xa1), node(peer), payload, 17);
  }

  MemoryTun tun{"qc0", 1280};
  FakeMesh mesh;
  VpnRouter router{config(), tun, mesh};
  Timestamp now = kSecond;
};

TEST_F(VpnRouterTest, ClusterPacketGoesToThePeerTheAddressNames) {
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};
  tun.inject(to(0xb2));
  EXPECT_EQ(router.pump_tun(now), 1u);
  ASSERT_EQ(mesh.sent.size(), 1u);
  EXPECT_EQ(mesh.sent[0].first, partial(0xb2));
  EXPECT_EQ(mesh.sent[0].second, to(0xb2));
  EXPECT_EQ(router.counters().mesh_sent, 1u);
  EXPECT_TRUE(tun.written().empty());
  check_accounting(0);
}

TEST_F(VpnRouterTest, OnlyClusterDestinationsEnterTheMesh) {
  identity::Ipv6 other = node(0xb2);
  other[2] ^= 0xff;  // another cluster
  identity::Ipv6 mcast{};
  mcast[0] = 0xff;
  mcast[1] = 0x02;
  mcast[15] = 2;
  tun.inject(make_packet(node(0xa1), other, 10));
  tun.inject(make_packet(node(0xa1), mcast, 10, 58, 133));  // router solicitation
  tun.inject(make_packet(node(0xb2), node(0xa1), 10));      // to ourselves
  tun.inject(Bytes{0x60, 0, 0});                            // garbage
  EXPECT_EQ(router.pump_tun(now), 4u);
  EXPECT_TRUE(mesh.sent.empty());
  EXPECT_TRUE(mesh.wanted.empty());
  EXPECT_TRUE(tun.written().empty()) << "no ICMPv6 for packets that never were the mesh's";
  EXPECT_EQ(router.counters().tun_not_cluster, 2u);
  EXPECT_EQ(router.counters().tun_to_self, 1u);
  EXPECT_EQ(router.counters().tun_malformed, 1u);
  check_accounting(0);
}

TEST_F(VpnRouterTest, QueuesBoundedWhileTheChannelOpensThenFlushesInOrder) {
  for (std::uint8_t i = 0; i < 6; ++i) tun.inject(to(0xb2, 10 + i));
  router.pump_tun(now);
  EXPECT_EQ(mesh.wanted, std::vector<identity::PartialId>{partial(0xb2)}) << "asked once";
  EXPECT_EQ(router.queued_for(partial(0xb2)), 4u);
  EXPECT_EQ(router.counters().queue_full, 2u);
  check_accounting(4);

  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};
  router.on_peer_ready(partial(0xb2), now);
  ASSERT_EQ(mesh.sent.size(), 4u);
  for (std::uint8_t i = 0; i < 4; ++i) EXPECT_EQ(mesh.sent[i].second, to(0xb2, 10 + i));
  EXPECT_EQ(router.queued_for(partial(0xb2)), 0u);
  EXPECT_EQ(router.next_deadline(), kNever);
  check_accounting(0);
}

TEST_F(VpnRouterTest, NewPacketsQueueBehindWaitingOnesToKeepOrder) {
  tun.inject(to(0xb2, 1));
  router.pump_tun(now);
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};
  tun.inject(to(0xb2, 2));
  router.pump_tun(now);
  EXPECT_TRUE(mesh.sent.empty());
  EXPECT_EQ(router.queued_for(partial(0xb2)), 2u);
  router.on_peer_ready(partial(0xb2), now);
  ASSERT_EQ(mesh.sent.size(), 2u);
  EXPECT_EQ(mesh.sent[0].second, to(0xb2, 1));
  EXPECT_EQ(mesh.sent[1].second, to(0xb2, 2));
}

TEST_F(VpnRouterTest, PendingPeersAreBoundedToo) {
  tun.inject(to(0xb2));
  tun.inject(to(0xc3));
  tun.inject(to(0xd4));  // a third waiting peer: over max_pending_peers
  router.pump_tun(now);
  EXPECT_EQ(router.queued_for(partial(0xd4)), 0u);
  EXPECT_EQ(router.counters().queue_full, 1u);
  EXPECT_EQ(mesh.wanted.size(), 2u);
  check_accounting(2);
}

TEST_F(VpnRouterTest, TooBigIsAnsweredWithPacketTooBig) {
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kTooBig, 1300};
  Bytes big = to(0xb2, 1400);
  tun.inject(big);
  router.pump_tun(now);
  ASSERT_EQ(tun.written().size(), 1u);
  const Bytes& ptb = tun.written()[0];
  auto h = parse_ipv6(ptb);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->dst, node(0xa1));
  EXPECT_EQ(ptb[40], kIcmpv6PacketTooBig);
  EXPECT_EQ((ptb[44] << 24) | (ptb[45] << 16) | (ptb[46] << 8) | ptb[47], 1300);
  EXPECT_EQ(icmpv6_checksum(h->src, h->dst, ByteView(ptb).subspan(40)), 0);
  EXPECT_EQ(router.counters().too_big, 1u);
  EXPECT_EQ(router.counters().icmp_sent, 1u);
  check_accounting(0);
}

TEST_F(VpnRouterTest, UnreachableAtOnceOrLaterIsAnsweredWithDestinationUnreachable) {
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kUnreachable, 0};
  tun.inject(to(0xb2));
  router.pump_tun(now);
  ASSERT_EQ(tun.written().size(), 1u);
  EXPECT_EQ(tun.written()[0][40], kIcmpv6DestinationUnreachable);
  EXPECT_EQ(tun.written()[0][41], 3);

  // Queued, then the routing core gives up.
  tun.inject(to(0xc3));
  tun.inject(to(0xc3));
  router.pump_tun(now);
  router.on_peer_unreachable(partial(0xc3), now, UnreachableCode::kNoRoute);
  auto w = tun.take_written();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[1][41], 0);
  EXPECT_EQ(w[2][41], 0);
  EXPECT_EQ(router.counters().unreachable, 3u);
  EXPECT_EQ(router.counters().icmp_sent, 3u);
  check_accounting(0);
}

TEST_F(VpnRouterTest, QueuedPacketsExpireWithUnreachable) {
  tun.inject(to(0xb2));
  router.pump_tun(now);
  tun.inject(to(0xb2));
  router.pump_tun(now + 2 * kSecond);
  EXPECT_EQ(router.next_deadline(), now + 5 * kSecond);
  router.on_timeout(now + 5 * kSecond - 1);
  EXPECT_EQ(router.queued_for(partial(0xb2)), 2u);
  router.on_timeout(now + 5 * kSecond);
  EXPECT_EQ(router.queued_for(partial(0xb2)), 1u);
  EXPECT_EQ(router.next_deadline(), now + 7 * kSecond);
  router.on_timeout(now + 7 * kSecond);
  EXPECT_EQ(router.next_deadline(), kNever);
  EXPECT_EQ(router.counters().queue_expired, 2u);
  EXPECT_EQ(tun.written().size(), 2u);
  check_accounting(0);
}

TEST_F(VpnRouterTest, NoErrorAnswersAnError) {
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kUnreachable, 0};
  tun.inject(make_packet(node(0xa1), node(0xb2), 60, 58, 1));  // an ICMPv6 error itself
  router.pump_tun(now);
  EXPECT_TRUE(tun.written().empty());
  EXPECT_EQ(router.counters().icmp_suppressed, 1u);
}

TEST_F(VpnRouterTest, ReceivedPacketsAreCheckedThenWritten) {
  Bytes good = make_packet(node(0xb2), node(0xa1), 50);
  router.on_mesh_datagram(partial(0xb2), good, now);
  ASSERT_EQ(tun.written().size(), 1u);
  EXPECT_EQ(tun.written()[0], good);

  // b2 sends a packet claiming c3's address: spoofed.
  router.on_mesh_datagram(partial(0xb2), make_packet(node(0xc3), node(0xa1), 50), now);
  // Not addressed to us.
  router.on_mesh_datagram(partial(0xb2), make_packet(node(0xb2), node(0xc3), 50), now);
  // Garbage.
  router.on_mesh_datagram(partial(0xb2), Bytes(30, 0x60), now);
  tun.fail_writes(true);
  router.on_mesh_datagram(partial(0xb2), good, now);
  const auto& k = router.counters();
  EXPECT_EQ(k.mesh_received, 5u);
  EXPECT_EQ(k.mesh_spoofed, 1u);
  EXPECT_EQ(k.mesh_not_for_us, 1u);
  EXPECT_EQ(k.mesh_malformed, 1u);
  EXPECT_EQ(k.tun_written, 1u);
  EXPECT_EQ(k.tun_write_errors, 1u);
  EXPECT_EQ(tun.written().size(), 1u);
}

// On a TUN that takes TCP super-packets, deliveries wait for flush_tun(); consecutive segments
// of one connection then go as one write, the rest one by one, in order, and the counters count
// segments.
TEST_F(VpnRouterTest, OnAGsoTunDeliveriesWaitForTheFlushAndSegmentsMerge) {
  MemoryTun gso_tun{"qc0", 1280, true};
  VpnRouter r{config(), gso_tun, mesh};
  std::vector<Bytes> in;
  for (std::uint32_t i = 0; i < 5; ++i)
    in.push_back(testing::make_tcp(node(0xb2), 40000, node(0xa1), 5201, 1 + i * 1000, 9, 0x10,
                                   Bytes(1000, static_cast<std::uint8_t>(i))));
  in.push_back(make_packet(node(0xb2), node(0xa1), 50));  // UDP: passes alone
  for (const Bytes& p : in) r.on_mesh_datagram(partial(0xb2), p, now);
  // Checks still come first: a spoofed segment is never held.
  r.on_mesh_datagram(partial(0xb2), testing::make_tcp(node(0xc3), 40000, node(0xa1), 5201, 1, 9,
                                                      0x10, Bytes(1000, 1)),
                     now);
  EXPECT_TRUE(gso_tun.written().empty());
  EXPECT_TRUE(r.tun_pending());
  r.flush_tun();
  EXPECT_FALSE(r.tun_pending());
  EXPECT_EQ(gso_tun.gso_writes(), 1u);
  ASSERT_EQ(gso_tun.written().size(), in.size());
  for (std::size_t i = 0; i < 5; ++i) {
    Bytes expect = in[i];
    expect[kIpv6HeaderSize + 16] = expect[kIpv6HeaderSize + 17] = 0;  // left to the kernel
    EXPECT_EQ(gso_tun.written()[i], expect) << "segment " << i;
  }
  EXPECT_EQ(gso_tun.written()[5], in[5]);
  const auto& k = r.counters();
  EXPECT_EQ(k.tun_written, 6u);
  EXPECT_EQ(k.tun_gso_writes, 1u);
  EXPECT_EQ(k.tun_gso_segments, 5u);
  EXPECT_EQ(k.mesh_spoofed, 1u);

  gso_tun.fail_writes(true);
  for (std::size_t i = 0; i < 2; ++i) r.on_mesh_datagram(partial(0xb2), in[i], now);
  EXPECT_EQ(r.tun_held(), 2u);
  r.flush_tun();
  EXPECT_EQ(r.counters().tun_write_errors, 2u) << "a failed super-packet loses its segments";
}

// A device that refuses super-packets as unsupported gets the segments one by one, whole (their
// checksums computed again), and nothing is held any more.
TEST_F(VpnRouterTest, ADeviceRefusingSuperPacketsGetsSegmentsOneByOne) {
  MemoryTun gso_tun{"qc0", 1280, true};
  gso_tun.refuse_gso(true);
  VpnRouter r{config(), gso_tun, mesh};
  std::vector<Bytes> in;
  for (std::uint32_t i = 0; i < 4; ++i)
    in.push_back(testing::make_tcp(node(0xb2), 40000, node(0xa1), 5201, 1 + i * 1000, 9, 0x10,
                                   Bytes(1000, static_cast<std::uint8_t>(i))));
  for (const Bytes& p : in) r.on_mesh_datagram(partial(0xb2), p, now);
  r.flush_tun();
  EXPECT_EQ(gso_tun.written(), in);
  EXPECT_EQ(r.counters().tun_gso_refused, 1u);
  EXPECT_EQ(r.counters().tun_written, 4u);
  EXPECT_EQ(r.counters().tun_write_errors, 0u);
  r.on_mesh_datagram(partial(0xb2), in[0], now);
  EXPECT_FALSE(r.tun_pending()) << "written at once from now on";
  EXPECT_EQ(gso_tun.written().size(), 5u);
}

TEST_F(VpnRouterTest, ErrorsToTheTunAreRateLimitedButPacketTooBigIsNot) {
  VpnRouter::Config c = config();
  c.icmp_per_second = 10;
  c.icmp_burst = 5;
  VpnRouter limited{c, tun, mesh};
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kUnreachable, 0};
  for (int i = 0; i < 20; ++i) limited.on_tun_packet(now, to(0xb2));
  EXPECT_EQ(limited.counters().unreachable, 20u);
  EXPECT_EQ(limited.counters().icmp_sent, 5u) << "the burst";
  EXPECT_EQ(limited.counters().icmp_rate_limited, 15u);
  EXPECT_EQ(tun.take_written().size(), 5u);
  // 10 per second: 0.5 s later, 5 more.
  for (int i = 0; i < 20; ++i) limited.on_tun_packet(now + kSecond / 2, to(0xb2));
  EXPECT_EQ(tun.take_written().size(), 5u);
  // Packet Too Big is never limited (path MTU discovery depends on it).
  mesh.answer[partial(0xc3)] = {MeshPort::Status::kTooBig, 1300};
  for (int i = 0; i < 20; ++i) limited.on_tun_packet(now + kSecond / 2, to(0xc3, 1400));
  auto ptb = tun.take_written();
  ASSERT_EQ(ptb.size(), 20u);
  EXPECT_EQ(ptb[19][40], kIcmpv6PacketTooBig);
}

TEST_F(VpnRouterTest, ReadBatchBoundsOnePump) {
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};
  for (int i = 0; i < 70; ++i) tun.inject(to(0xb2));
  EXPECT_EQ(router.pump_tun(now), 64u);
  EXPECT_EQ(router.pump_tun(now), 6u);
  EXPECT_EQ(router.pump_tun(now), 0u);
  EXPECT_EQ(mesh.sent.size(), 70u);
}

}  // namespace
}  // namespace qc::tun

namespace qc::tun {
namespace {

// a1 exposes port 8080 only; b2's channel takes datagrams.
VpnRouter::Config filtered() {
  VpnRouter::Config c;
  c.self = node(0xa1);
  c.filter =
      InboundFilter::Config{.ports = {8080}, .udp_flow_timeout = kSecond, .max_udp_flows = 16};
  return c;
}
// A TCP SYN from b2 to a1's port 22 (not exposed).
Bytes syn_to_22() {
  Bytes syn = make_packet(node(0xb2), node(0xa1), 20, 6);
  syn[42] = 0;
  syn[43] = 22;
  syn[53] = 0x02;  // SYN
  return syn;
}

TEST(VpnRouterFilter, RefusedPacketsAreCountedAndAnsweredThroughTheMesh) {
  MemoryTun tun{"qc0", 1280};
  FakeMesh mesh;
  VpnRouter router{filtered(), tun, mesh};
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};

  Bytes syn = syn_to_22();
  router.on_mesh_datagram(partial(0xb2), syn, kSecond);
  EXPECT_TRUE(tun.written().empty());
  EXPECT_EQ(router.counters().mesh_filtered, 1u);
  ASSERT_EQ(mesh.sent.size(), 1u);  // ICMPv6 administratively prohibited, back to b2
  const Bytes& icmp = mesh.sent[0].second;
  ASSERT_GT(icmp.size(), 42u);
  EXPECT_EQ(icmp[6], kNextHeaderIcmpv6);
  EXPECT_EQ(icmp[40], 1);  // Destination Unreachable
  EXPECT_EQ(icmp[41], 1);  // administratively prohibited

  syn[43] = static_cast<std::uint8_t>(8080 & 0xff);
  syn[42] = static_cast<std::uint8_t>(8080 >> 8);
  router.on_mesh_datagram(partial(0xb2), syn, kSecond);
  EXPECT_EQ(tun.written().size(), 1u);  // the exposed port is open
}

TEST(VpnRouterFilter, APeerFloodingRefusedPacketsGetsRateLimitedAnswers) {
  MemoryTun tun{"qc0", 1280};
  FakeMesh mesh;
  VpnRouter::Config c = filtered();
  c.icmp_per_second = 100;
  c.icmp_burst = 10;
  VpnRouter router{c, tun, mesh};
  mesh.answer[partial(0xb2)] = {MeshPort::Status::kSent, 0};
  Bytes syn = syn_to_22();
  for (int i = 0; i < 1000; ++i) router.on_mesh_datagram(partial(0xb2), syn, kSecond);
  EXPECT_EQ(router.counters().mesh_filtered, 1000u);
  EXPECT_EQ(mesh.sent.size(), 10u) << "one burst of answers, not one per packet";
  EXPECT_EQ(router.counters().icmp_rate_limited, 990u);
  // A second later the bucket has refilled to its burst (not to 100).
  for (int i = 0; i < 1000; ++i) router.on_mesh_datagram(partial(0xb2), syn, 2 * kSecond);
  EXPECT_EQ(mesh.sent.size(), 20u);
  EXPECT_TRUE(tun.written().empty());
}

}  // namespace
}  // namespace qc::tun
