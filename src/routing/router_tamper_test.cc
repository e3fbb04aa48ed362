// Hostile input: forged, truncated, reordered, inserted, replayed and expired probes, probes that
// contain the receiver, rate and table limits, garbage. Each is dropped, counted and answered,
// never forwarded.
#include <gtest/gtest.h>

#include "sim/routing_node.h"

namespace qc::routing {
namespace {

using sim::LinkParams;
using sim::RoutingSim;
using sim::RoutingSimOptions;

constexpr std::int64_t kUnixBase = 1'700'000'000LL * static_cast<std::int64_t>(kSecond);

// A line 0-1-2-3-4 where the test writes probes by hand, signed with the nodes' own keys.
class TamperTest : public ::testing::Test {
 protected:
  TamperTest() : sim_(sim::line(5, 5 * kMillisecond), LinkParams{}, opts()) {}
  static RoutingSimOptions opts() {
    RoutingSimOptions o;
    o.seed = 77;
    return o;
  }
  std::uint64_t now_ms() const {
    return (sim_.now() + static_cast<std::uint64_t>(kUnixBase)) / kMillisecond;
  }
  // A probe from path[0] through path[1..], addressed to `dest`, signed hop by hop.
  Route route(const std::vector<sim::NodeIndex>& path, sim::NodeIndex next, sim::NodeIndex dest,
              std::uint64_t nonce = 42) {
    Route r;
    r.set_originator(id_bytes(sim_.id(path[0])));
    r.set_nonce(nonce);
    const NodeId& d = sim_.id(dest);
    r.set_destination(std::string(d.begin(), d.begin() + 12));
    r.set_expiry_ms(now_ms() + 30'000);
    for (std::size_t i = 0; i < path.size(); ++i) {
      testing::FakeSigner signer(sim_.registry(), sim_.id(path[i]));
      HopFields f;
      f.partial = partial_of(sim_.id(path[i]));
      f.backward_interface = i == 0 ? 0 : 1;
      f.forward_interface = 1;
      f.timestamp_ms = now_ms();
      f.next = partial_of(sim_.id(i + 1 < path.size() ? path[i + 1] : next));
      EXPECT_TRUE(append_signed_hop(r, f, signer));
    }
    return r;
  }
  // The session between neighbours a and b of the line (link k joins k and k+1; sessions are
  // numbered from 1 in link order).
  static SessionId session(sim::NodeIndex a, sim::NodeIndex b) { return std::min(a, b) + 1; }
  void inject(sim::NodeIndex at, sim::NodeIndex from, const Route& r, std::uint32_t tag = 9) {
    RoutingMessage m;
    *m.mutable_probe()->mutable_route() = r;
    m.mutable_probe()->set_tag(tag);
    std::string bytes;
    m.SerializeToString(&bytes);
    sim_.node(at).inject(sim_.net(), session(at, from), bytes, sim_.now());
  }
  const Stats& stats(sim::NodeIndex i) { return sim_.router(i).stats(); }

  RoutingSim sim_;
};

TEST_F(TamperTest, ValidProbeIsForwardedThenReplayIsDuplicate) {
  Route r = route({0, 1}, 2, 4);
  inject(2, 1, r);
  EXPECT_EQ(stats(2).probes_forwarded, 1u);  // to 3, the only node not in the path
  inject(2, 1, r);
  EXPECT_EQ(stats(2).drop_duplicate, 1u);
  EXPECT_EQ(stats(2).probes_forwarded, 1u);
}

TEST_F(TamperTest, ForgedSignatureIsRejected) {
  Route r = route({0, 1}, 2, 4);
  std::string sig = r.hops(0).signature();
  sig[5] ^= 1;
  r.mutable_hops(0)->set_signature(sig);
  inject(2, 1, r);
  EXPECT_EQ(stats(2).drop_bad_signature, 1u);
  EXPECT_EQ(stats(2).probes_forwarded, 0u);
}

TEST_F(TamperTest, ChangedFieldsAreRejected) {
  Route a = route({0, 1}, 2, 4);
  a.mutable_hops(0)->set_forward_interface(77);
  inject(2, 1, a);
  Route b = route({0, 1}, 2, 4);
  b.set_expiry_ms(b.expiry_ms() + 1000);  // stretch the lifetime
  inject(2, 1, b);
  Route c = route({0, 1}, 2, 4);
  c.set_destination(id_bytes(sim_.id(3)));
  inject(2, 1, c);
  EXPECT_EQ(stats(2).drop_bad_signature, 3u);
  EXPECT_EQ(stats(2).probes_forwarded, 0u);
}

TEST_F(TamperTest, TruncatedProbeIsRejected) {
  // Dropping the last hop: the copy no longer comes from the neighbour that signed last.
  Route a = route({0, 1}, 2, 4);
  a.mutable_hops()->RemoveLast();
  inject(2, 1, a);
  EXPECT_EQ(stats(2).drop_bad_link, 1u);
  // Dropping the first hop: the route no longer starts at its originator.
  Route b = route({0, 1}, 2, 4);
  b.mutable_hops()->DeleteSubrange(0, 1);
  inject(2, 1, b);
  // Dropping a middle hop: the next-partial chain breaks.
  Route c = route({4, 3, 2, 1}, 0, 0);
  c.mutable_hops()->DeleteSubrange(1, 1);
  inject(0, 1, c);
  EXPECT_EQ(stats(2).drop_malformed, 1u);
  EXPECT_EQ(stats(0).drop_malformed, 1u);
  EXPECT_EQ(stats(2).probes_forwarded + stats(0).probes_forwarded, 0u);
  EXPECT_EQ(stats(0).probes_reached, 0u);
}

TEST_F(TamperTest, ReorderedProbeIsRejected) {
  Route r = route({4, 3, 2, 1}, 0, 0);
  r.mutable_hops()->SwapElements(1, 2);
  inject(0, 1, r);
  // Re-linking the swapped hops' next ids to hide the swap breaks their signatures instead.
  Route s = route({4, 3, 2, 1}, 0, 0);
  s.mutable_hops()->SwapElements(1, 2);
  s.mutable_hops(0)->set_next_partial_id(s.hops(1).partial_id());
  s.mutable_hops(1)->set_next_partial_id(s.hops(2).partial_id());
  s.mutable_hops(2)->set_next_partial_id(s.hops(3).partial_id());
  inject(0, 1, s);
  EXPECT_EQ(stats(0).drop_malformed, 1u);
  EXPECT_EQ(stats(0).drop_bad_signature, 1u);
  EXPECT_EQ(stats(0).probes_reached, 0u);
}

TEST_F(TamperTest, InsertedHopIsRejected) {
  // 1 inserts a hop for 3 (signed with 3's real key, even) between 0 and itself.
  Route r = route({0, 1}, 2, 4);
  Route fake = route({0, 3, 1}, 2, 4);  // 0's hop names 3 as next: different signature
  fake.mutable_hops(0)->set_signature(r.hops(0).signature());
  inject(2, 1, fake);
  EXPECT_EQ(stats(2).drop_bad_signature, 1u);
  EXPECT_EQ(stats(2).probes_forwarded, 0u);
}

TEST_F(TamperTest, ExpiredProbeIsRejected) {
  Route r = route({0, 1}, 2, 4);
  sim_.net().run_until(sim_.now() + 31 * kSecond);
  inject(2, 1, r);
  EXPECT_EQ(stats(2).drop_expired, 1u);
  EXPECT_EQ(stats(2).probes_forwarded, 0u);
}

TEST_F(TamperTest, ProbeContainingUsIsDropped) {
  Route r = route({2, 1}, 2, 4);
  inject(2, 1, r);
  EXPECT_EQ(stats(2).drop_contains_us, 1u);
  EXPECT_EQ(stats(2).probes_forwarded, 0u);
}

TEST_F(TamperTest, EveryDropIsAnsweredDeadEnd) {
  std::vector<sim::SentMessage> tap;
  sim_.node(2).tap = &tap;
  Route r = route({0, 1}, 2, 4);
  r.mutable_hops(0)->set_timestamp_ms(1);
  inject(2, 1, r, 1234);
  ASSERT_EQ(tap.size(), 1u);
  RoutingMessage m;
  ASSERT_TRUE(m.ParseFromString(tap[0].bytes));
  ASSERT_TRUE(m.has_probe_result());
  EXPECT_EQ(m.probe_result().tag(), 1234u);
  EXPECT_EQ(m.probe_result().kind(), ProbeResult::DEAD_END);
}

TEST(TamperLimits, RateLimitAndTableCapsDropAndCount) {
  RoutingSimOptions o;
  o.seed = 78;
  o.config.probe_rate_per_session = 10;
  o.config.probe_burst_per_session = 20;
  o.config.max_seen_probes = 8;
  RoutingSim s(sim::line(3, kMillisecond), LinkParams{}, o);
  // Node 0 floods node 1 with 50 distinct probes at one instant.
  for (int k = 0; k < 50; ++k) {
    ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) {
      return r.send_probe(PeerPrefix{std::vector<std::uint8_t>(10, static_cast<std::uint8_t>(k))},
                          now);
    }));
  }
  s.net().run_until(s.now() + kSecond);
  const Stats& st = s.router(1).stats();
  EXPECT_EQ(st.drop_rate_limited, 30u);
  EXPECT_EQ(st.drop_table_full, 12u);  // 20 admitted, 8 remembered
  EXPECT_LE(s.router(1).seen_table().size(), 8u);
  // Every one of the 50 still got its answer.
  EXPECT_EQ(s.router(0).stats().unreachable_reported, 50u);
}

TEST(TamperLimits, GarbageNeverCrashes) {
  RoutingSimOptions o;
  o.seed = 79;
  RoutingSim s(sim::line(3, kMillisecond), LinkParams{}, o);
  SeededRandom rng(5);
  for (int k = 0; k < 3000; ++k) {
    std::string bytes(rng.between(0, 300), '\0');
    for (char& c : bytes) c = static_cast<char>(rng.next());
    if (k % 3 == 0 && !bytes.empty()) bytes[0] = static_cast<char>(0x0a);  // a probe field tag
    s.node(1).inject(s.net(), 1, bytes, s.now());
  }
  s.net().run_until(s.now() + 10 * kSecond);
  EXPECT_EQ(s.router(1).circuits().size(), 0u);
}

}  // namespace
}  // namespace qc::routing
