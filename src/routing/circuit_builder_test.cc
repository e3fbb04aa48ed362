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
