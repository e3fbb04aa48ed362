#include "routing/circuit_builder.h"

#include <gtest/gtest.h>

namespace qc::routing {
namespace {

TEST(CircuitBuilder, DueAtOnceThenEvery25To40SecondsWhileShort) {
  Config cfg;
  SeededRandom rng(3);
  CircuitBuilder b(cfg, rng);
  NodeId peer{};
  peer[0] = 9;
  ASSERT_TRUE(b.want(PeerPrefix::of(peer), 1, 100));
  EXPECT_EQ(b.due(100).size(), 1u);
  Timestamp next = b.next_deadline();
  EXPECT_GE(next, 100 + 25 * kSecond);
  EXPECT_LE(next, 100 + 40 * kSecond);
  EXPECT_TRUE(b.due(next - 1).empty());
  EXPECT_EQ(b.due(next).size(), 1u);
  // Satisfied: the timer keeps running but nothing is due.
  b.on_up(peer, 1, {});
  EXPECT_TRUE(b.due(b.next_deadline()).empty());
  // The last circuit goes: due again at once (not after the 25..40 s period).
  const Timestamp t = next + 3 * kSecond;
  ASSERT_LT(t, b.next_deadline());
  b.on_down(peer, 1, t);
  EXPECT_EQ(b.next_deadline(), t);
}

TEST(CircuitBuilder, PrefersDisjointCircuits) {
  Config cfg;
  SeededRandom rng(3);
  CircuitBuilder b(cfg, rng);
  NodeId peer{};
  peer[0] = 9;
  ASSERT_TRUE(b.want(PeerPrefix::of(peer), 2, 0));
  PartialId r1{}, r2{};
  r1[0] = 1;
  r2[0] = 2;
  EXPECT_EQ(b.consider(peer, {r1}, false), CircuitBuilder::Decision::kAccept);
  b.on_up(peer, 1, {r1});
  EXPECT_EQ(b.consider(peer, {r1, r2}, false), CircuitBuilder::Decision::kHold);
  EXPECT_EQ(b.consider(peer, {r2}, false), CircuitBuilder::Decision::kAccept);
  EXPECT_EQ(b.consider(peer, {r1}, true), CircuitBuilder::Decision::kAccept);
  b.on_up(peer, 2, {r2});
  EXPECT_EQ(b.consider(peer, {r2}, true), CircuitBuilder::Decision::kReject);
  NodeId other{};
  EXPECT_EQ(b.consider(other, {}, false), CircuitBuilder::Decision::kReject);
}

// Two circuits that share a relay are not enough: builds go on (avoiding that relay) and only a
// disjoint circuit is taken; once a probe avoiding it finds nothing, the peer rests until the
// next period, and then tries again.
TEST(CircuitBuilder, CircuitsSharingARelayKeepThePeerShort) {
  Config cfg;
  SeededRandom rng(3);
  CircuitBuilder b(cfg, rng);
  NodeId peer{};
  peer[0] = 9;
  const PeerPrefix prefix = PeerPrefix::of(peer);
  ASSERT_TRUE(b.want(prefix, 2, 0));
  ASSERT_EQ(b.due(0).size(), 1u);
  PartialId r1{}, r2{};
  r1[0] = 1;
  r2[0] = 2;
  b.on_up(peer, 1, {r1});
  EXPECT_EQ(b.consider(peer, {r1}, true), CircuitBuilder::Decision::kAccept);  // still short
  b.on_up(peer, 2, {r1});
  // Two circuits, both through r1: another shared one is refused, a disjoint one taken.
  EXPECT_EQ(b.consider(peer, {r1}, true), CircuitBuilder::Decision::kReject);
  EXPECT_EQ(b.consider(peer, {r2}, false), CircuitBuilder::Decision::kAccept);
  EXPECT_EQ(b.avoid_for(prefix), std::vector<PartialId>{r1});
  // A build follows a probe round at once (at most every min_rebuild_interval).
  b.on_probe_sent(prefix, 77, false);
  b.on_probe_done(77, true, 100 * kMillisecond);
  EXPECT_EQ(b.next_deadline(), cfg.min_rebuild_interval);
  EXPECT_EQ(b.due(cfg.min_rebuild_interval).size(), 1u);
  // The probe avoiding r1 finds nothing: no disjoint path now. Try again after 1 s, 2 s, 4 s...
  b.on_probe_sent(prefix, 78, true);
  b.on_probe_done(78, false, 2 * kSecond);
  EXPECT_TRUE(b.avoid_for(prefix).empty());
  EXPECT_EQ(b.consider(peer, {r2}, false), CircuitBuilder::Decision::kReject);
  EXPECT_TRUE(b.due(2 * kSecond).empty());
  EXPECT_EQ(b.next_deadline(), 3 * kSecond);
  EXPECT_EQ(b.due(3 * kSecond).size(), 1u);
  EXPECT_EQ(b.avoid_for(prefix), std::vector<PartialId>{r1});
  b.on_probe_sent(prefix, 79, true);
  b.on_probe_done(79, false, 3 * kSecond);
  EXPECT_TRUE(b.due(4 * kSecond).empty());
  EXPECT_EQ(b.next_deadline(), 5 * kSecond);
  (void)b.due(5 * kSecond);
  b.on_probe_sent(prefix, 80, true);
  b.on_probe_done(80, false, 5 * kSecond);
  EXPECT_TRUE(b.due(6 * kSecond).empty());
  EXPECT_EQ(b.next_deadline(), 9 * kSecond);
  // ...or sooner, when a neighbour appears: it may be the way around r1.
  b.on_new_neighbour(7 * kSecond);
  EXPECT_EQ(b.next_deadline(), 7 * kSecond);
  EXPECT_EQ(b.avoid_for(prefix), std::vector<PartialId>{r1});
  EXPECT_EQ(b.due(7 * kSecond).size(), 1u);
  // A disjoint circuit ends it.
  b.on_up(peer, 3, {r2});
  EXPECT_TRUE(b.due(b.next_deadline()).empty());
}

TEST(CircuitBuilder, NewInterfaceMakesShortPeersDue) {
  Config cfg;
  SeededRandom rng(3);
  CircuitBuilder b(cfg, rng);
  NodeId peer{};
  ASSERT_TRUE(b.want(PeerPrefix::of(peer), 1, 0));
  (void)b.due(0);
  b.on_new_interface(7 * kSecond);
  EXPECT_EQ(b.due(7 * kSecond).size(), 1u);
}

}  // namespace
}  // namespace qc::routing
