// The routing core on the simulator: reachability, unreachability, loop freedom, circuit state
// at every hop, the builder's timers, cost bounds. Virtual time only.
#include <gtest/gtest.h>

#include <set>

#include "sim/routing_node.h"

namespace qc::routing {
namespace {

using sim::LinkParams;
using sim::RoutingSim;
using sim::RoutingSimOptions;
using sim::Topology;

const CircuitUp* first_up(RoutingSim& s, sim::NodeIndex at, sim::NodeIndex remote) {
  for (const auto& te : s.node(at).events()) {
    if (auto* up = std::get_if<CircuitUp>(&te.event); up && up->remote == s.id(remote)) return up;
  }
  return nullptr;
}

std::size_t count_ups(RoutingSim& s, sim::NodeIndex at) {
  std::size_t n = 0;
  for (const auto& te : s.node(at).events()) n += std::holds_alternative<CircuitUp>(te.event);
  return n;
}

const Unreachable* first_unreachable(RoutingSim& s, sim::NodeIndex at, Timestamp* when = nullptr) {
  for (const auto& te : s.node(at).events()) {
    if (auto* u = std::get_if<Unreachable>(&te.event)) {
      if (when) *when = te.at;
      return u;
    }
  }
  return nullptr;
}

// Every node on a route appears once, each hop names the next, and the last names the
// destination.
void expect_loop_free(const RouteEstablish& est) {
  const Route& r = est.route();
  std::set<std::string> seen;
  for (int i = 0; i < r.hops_size(); ++i) {
    EXPECT_TRUE(seen.insert(r.hops(i).partial_id()).second) << "node twice at hop " << i;
    if (i + 1 < r.hops_size()) {
      EXPECT_EQ(r.hops(i).next_partial_id(), r.hops(i + 1).partial_id());
    }
  }
  EXPECT_EQ(seen.count(est.destination_id().substr(0, kPartialIdSize)), 0u);
  EXPECT_EQ(r.hops(r.hops_size() - 1).next_partial_id(),
            est.destination_id().substr(0, kPartialIdSize));
}

RoutingSimOptions options(std::uint64_t seed) {
  RoutingSimOptions o;
  o.seed = seed;
  return o;
}

// A route is found whenever one exists, and unreachable is reported (an answer, well before
// the probe's lifetime) whenever none does; no route ever has a loop.
TEST(RouterSim, FindsRouteIffOneExistsAcrossTopologies) {
  struct Case {
    const char* name;
    Topology t;
  };
  std::vector<Case> cases = {
      {"line", sim::line(12, 3 * kMillisecond)},
      {"ring", sim::ring(15, 2 * kMillisecond)},
      {"grid", sim::grid(6, 6, 2 * kMillisecond)},
      {"geometric", sim::random_geometric(120, 5.0, 11)},  // not connected: some pairs are not
      {"scale_free", sim::scale_free(100, 2, 12)},
      {"random", sim::random_graph(100, 3.0, 13)},  // sparse: a few isolated parts
  };
  int reachable_pairs = 0, unreachable_pairs = 0;
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    RoutingSim s(c.t, LinkParams{}, options(7));
    const auto comp = c.t.components();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::uint32_t k = 0; k < 8; ++k) {
      std::uint32_t a = static_cast<std::uint32_t>((k * 7919 + 3) % c.t.nodes);
      std::uint32_t b = static_cast<std::uint32_t>((k * 104729 + 17) % c.t.nodes);
      if (a != b) pairs.push_back({a, b});
    }
    for (auto [a, b] : pairs) {
      const Timestamp start = s.now();
      s.node(a).clear_events();
      ASSERT_TRUE(
          s.with(a, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(b), now); }));
      s.net().run_until(start + 20 * kSecond);
      const CircuitUp* up = first_up(s, a, b);
      Timestamp when = 0;
      const Unreachable* un = first_unreachable(s, a, &when);
      if (comp[a] == comp[b]) {
        ++reachable_pairs;
        ASSERT_NE(up, nullptr) << a << " -> " << b;
        EXPECT_TRUE(up->originator);
        expect_loop_free(up->route);
        EXPECT_EQ(un, nullptr);
        // The destination got its event too, naming the originator.
        EXPECT_NE(first_up(s, b, a), nullptr);
      } else {
        ++unreachable_pairs;
        EXPECT_EQ(up, nullptr);
        ASSERT_NE(un, nullptr) << a << " -> " << b;
        EXPECT_LT(when - start, 10 * kSecond);  // an answer, not the 60 s probe expiry
      }
    }
  }
  EXPECT_GT(reachable_pairs, 20);
  EXPECT_GT(unreachable_pairs, 0);
}

// Every probe copy that crosses any link is loop-free, and the copy limit bounds the cost.
TEST(RouterSim, NoProbeEverLoopsAndCostIsLinearInEdges) {
  Topology t = sim::random_graph(100, 6.0, 21);
  RoutingSim s(t, LinkParams{}, options(3));
  std::vector<sim::SentMessage> tap;
  for (std::size_t i = 0; i < s.size(); ++i) s.node(static_cast<sim::NodeIndex>(i)).tap = &tap;
  s.net().reset_stats();
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(57), now); }));
  ASSERT_TRUE(s.net().run_until_no_traffic(s.now() + 60 * kSecond));
  std::size_t probes = 0, results = 0;
  for (const auto& m : tap) {
    RoutingMessage msg;
    ASSERT_TRUE(msg.ParseFromString(m.bytes));
    if (msg.has_probe()) {
      ++probes;
      std::set<std::string> seen;
      for (const Hop& h : msg.probe().route().hops())
        EXPECT_TRUE(seen.insert(h.partial_id()).second);
      EXPECT_EQ(seen.count(msg.probe().route().hops().rbegin()->next_partial_id()), 0u);
    }
    if (msg.has_probe_result()) ++results;
  }
  EXPECT_EQ(probes, results);  // every probe got exactly one answer
  // The originator saw every branch answer, and the round reached the destination.
  bool done = false;
  for (const auto& te : s.node(0).events()) {
    if (auto* d = std::get_if<ProbeDone>(&te.event)) {
      done = true;
      EXPECT_TRUE(d->reached);
      EXPECT_GT(d->elapsed, 0u);
    }
  }
  EXPECT_TRUE(done);
  const double per_edge =
      static_cast<double>(probes + results) / static_cast<double>(t.edges.size());
  EXPECT_LE(per_edge, 4.0 * 2);  // 4 x the fan-out of 2
  EXPECT_NE(first_up(s, 0, 57), nullptr);
}

TEST(RouterSim, FanOutLimitIsConfigurable) {
  Topology t = sim::random_graph(60, 6.0, 5);
  for (std::uint32_t copies : {1u, 3u}) {
    RoutingSimOptions o = options(4);
    o.config.max_copies_per_probe = copies;
    RoutingSim s(t, LinkParams{}, o);
    s.net().reset_stats();
    ASSERT_TRUE(
        s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(30), now); }));
    ASSERT_TRUE(s.net().run_until_no_traffic(s.now() + 60 * kSecond));
    const auto& k = s.net().stats().sent_by_kind;
    const double probes =
        static_cast<double>(k.count(RoutingMessage::kProbe) ? k.at(RoutingMessage::kProbe) : 0);
    EXPECT_LE(probes, 2.0 * copies * static_cast<double>(t.edges.size()));
    EXPECT_NE(first_up(s, 0, 30), nullptr);
  }
}

// A removed link makes the builder find another path.
TEST(RouterSim, RemovedLinkMakesBuilderFindAnotherPath) {
  Topology t = sim::ring(8, 5 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(9));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(3), now, 1); }));
  s.net().run_until(s.now() + 2 * kSecond);
  const CircuitUp* up = first_up(s, 0, 3);
  ASSERT_NE(up, nullptr);
  // The short way is 0-1-2-3: take out the link 1-2 (edge index 1).
  ASSERT_EQ(up->route.route().hops_size(), 3);
  s.node(0).clear_events();
  s.net().schedule_link(s.link(1), false, s.now());
  s.net().run_until(s.now() + 45 * kSecond);
  bool down = false;
  for (const auto& te : s.node(0).events()) down |= std::holds_alternative<CircuitDown>(te.event);
  EXPECT_TRUE(down);
  const CircuitUp* again = first_up(s, 0, 3);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->route.route().hops_size(), 5);  // 0-7-6-5-4 then 3
  expect_loop_free(again->route);
}

// The builder keeps two circuits to a wanted peer on disjoint paths, and the labels chain: from
// the originator's (session, label), forward() at each relay leads to the destination's.
TEST(RouterSim, BuilderKeepsDisjointCircuitsAndLabelsChainEndToEnd) {
  Topology t = sim::grid(5, 5, 4 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(21));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(24), now, 2); }));
  s.net().run_until(s.now() + 5 * kSecond);
  std::vector<const CircuitUp*> ups;
  for (const auto& te : s.node(0).events())
    if (auto* up = std::get_if<CircuitUp>(&te.event)) ups.push_back(up);
  ASSERT_EQ(ups.size(), 2u);
  std::set<std::string> relays;
  for (const CircuitUp* up : ups) {
    for (int i = 1; i < up->route.route().hops_size(); ++i)
      EXPECT_TRUE(relays.insert(up->route.route().hops(i).partial_id()).second)
          << "relay shared by both circuits";
  }
  for (const CircuitUp* up : ups) {
    sim::NodeIndex at = 0;
    SessionId sess = up->session;
    Label label = up->label;
    int hops = 0;
    for (;;) {
      auto next = s.net().peer_of(at, sess);
      ASSERT_TRUE(next);
      at = *next;
      auto f = s.router(at).forward(sess, label);
      if (!f) break;
      sess = f->session;
      label = f->label;
      ASSERT_LT(++hops, 30);
    }
    EXPECT_EQ(at, 24u);
    EXPECT_EQ(hops, up->route.route().hops_size() - 1);
    auto h = s.router(24).circuits().lookup(sess, label);
    ASSERT_TRUE(h);
    EXPECT_EQ(s.router(24).circuits().get(*h)->role, CircuitRole::kDestination);
    EXPECT_EQ(s.router(24).circuits().get(*h)->state, CircuitState::kEstablished);
  }
  // The destination's events name the originator, with its own session and label.
  std::size_t dest_ups = 0;
  for (const auto& te : s.node(24).events()) {
    if (auto* up = std::get_if<CircuitUp>(&te.event)) {
      ++dest_ups;
      EXPECT_EQ(up->remote, s.id(0));
      EXPECT_FALSE(up->originator);
      EXPECT_TRUE(s.router(24).circuits().lookup(up->session, up->label));
    }
  }
  EXPECT_EQ(dest_ups, 2u);
}

// Two sessions to the same peer over two interfaces are two links: one circuit over each.
TEST(RouterSim, TwoInterfacesToOnePeerAreTwoLinks) {
  Topology t = sim::line(2, 5 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(22));
  s.add_link(0, 1, LinkParams{7 * kMillisecond, 0, 0}, 2, 2);
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(1), now, 2); }));
  s.net().run_until(s.now() + 2 * kSecond);
  std::set<SessionId> sessions;
  for (const auto& te : s.node(0).events())
    if (auto* up = std::get_if<CircuitUp>(&te.event)) sessions.insert(up->session);
  EXPECT_EQ(sessions.size(), 2u);
}

// A second session to a neighbour on the same interface (a duplicate dial the link layer kept,
// or a restarted peer) takes over when the first goes down: the relay still routes through it,
// and new probes are not sent twice to one neighbour.
TEST(RouterSim, ReplacementSessionOnOneInterfaceKeepsTheNeighbour) {
  Topology t = sim::line(3, 5 * kMillisecond);  // 0 - 1 - 2, edges 0 (0-1) and 1 (1-2)
  RoutingSim s(t, LinkParams{}, options(23));
  s.net().run_until(s.now() + 100 * kMillisecond);
  // The link layer reports a newer session between 1 and 2 on the same interfaces, then the
  // older one closes.
  sim::LinkId second = s.add_link(1, 2, LinkParams{5 * kMillisecond, 0, 0}, 1, 1);
  s.net().run_until(s.now() + 100 * kMillisecond);
  s.net().schedule_link(s.link(1), false, s.now());
  s.net().run_until(s.now() + 100 * kMillisecond);
  ASSERT_TRUE(s.net().link_up(second));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(2), now, 1); }));
  s.net().run_until(s.now() + 2 * kSecond);
  EXPECT_EQ(first_unreachable(s, 0), nullptr);
  const CircuitUp* up = first_up(s, 0, 2);
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->route.route().hops_size(), 2);
  // While both sessions are up, a relay forwards one copy of a probe to the neighbour, not two.
  s.node(0).clear_events();
  sim::LinkId third = s.add_link(1, 2, LinkParams{5 * kMillisecond, 0, 0}, 1, 1);
  s.net().run_until(s.now() + 100 * kMillisecond);
  ASSERT_TRUE(s.net().link_up(third));
  const std::uint64_t before = s.router(1).stats().probes_forwarded;
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(2), now); }));
  s.net().run_until(s.now() + 2 * kSecond);
  EXPECT_EQ(s.router(1).stats().probes_forwarded - before, 1u);
}

// When the only path to a wanted peer goes through one relay, both circuits share it; a second
// relay appearing later (on an interface already in use, so no new-interface build) gets a
// circuit within a probe period, and the extra probing stays bounded.
TEST(RouterSim, SecondRelayLaterGivesADisjointCircuit) {
  Topology t = sim::line(3, 2 * kMillisecond);  // 0 - 1 - 2
  t.nodes = 4;                                   // node 3 joins later
  RoutingSim s(t, LinkParams{}, options(24));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(2), now, 2); }));
  s.net().run_until(s.now() + 5 * kSecond);
  EXPECT_GE(count_ups(s, 0), 1u);  // through node 1
  s.add_link(0, 3, LinkParams{2 * kMillisecond, 0, 0}, 1, 1);
  s.add_link(3, 2, LinkParams{2 * kMillisecond, 0, 0}, 1, 1);
  s.net().run_until(s.now() + 45 * kSecond);
  bool through_3 = false;
  for (const auto& te : s.node(0).events()) {
    auto* up = std::get_if<CircuitUp>(&te.event);
    if (up && up->route.route().hops_size() == 2 &&
        up->route.route().hops(1).partial_id() == id_bytes(partial_of(s.id(3))))
      through_3 = true;
  }
  EXPECT_TRUE(through_3);
  // Bounded: a handful of probes per period, not one per second.
  EXPECT_LE(s.router(0).stats().probes_originated, 12u);
}

// Circuit state is visible at every hop: PENDING with the short expiry, then ESTABLISHED with the
// long one; a frozen originator lets it expire everywhere; a vanished one closes it at once.
TEST(RouterSim, CircuitStatesAndExpiryAtEveryHop) {
  Topology t = sim::line(5, 10 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(5));
  const Timestamp t0 = s.now();
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(4), now); }));
  // Probe reaches 4 at t0+40ms; CircuitInit reaches 3 at +50, 2 at +60, 1 at +70, 0 at +80;
  // CircuitEstablished reaches 1 at +90 ... 4 at +120.
  s.net().run_until(t0 + 65 * kMillisecond);
  for (sim::NodeIndex i : {2u, 3u}) {
    ASSERT_EQ(s.router(i).circuits().size(), 1u) << i;
    s.router(i).circuits().for_each([&](CircuitHandle, const CircuitEntry& e) {
      EXPECT_EQ(e.state, CircuitState::kPending);
      EXPECT_EQ(e.role, CircuitRole::kRelay);
      EXPECT_LE(e.expiry, s.now() + s.router(i).config().pending_expiry);
      EXPECT_GT(e.expiry, s.now());
    });
  }
  s.net().run_until(t0 + 130 * kMillisecond);
  for (sim::NodeIndex i = 0; i < 5; ++i) {
    ASSERT_EQ(s.router(i).circuits().size(), 1u) << i;
    s.router(i).circuits().for_each([&](CircuitHandle, const CircuitEntry& e) {
      EXPECT_EQ(e.state, CircuitState::kEstablished) << i;
      EXPECT_GT(e.expiry, s.now() + s.router(i).config().pending_expiry);
      EXPECT_LT(e.back.label, 16384);
      EXPECT_LT(e.fwd.label, 16384);
    });
  }
  // A relay forwards in O(1) from one side to the other, both ways.
  s.router(2).circuits().for_each([&](CircuitHandle, const CircuitEntry& e) {
    auto f = s.router(2).forward(e.back.session, e.back.label);
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, e.fwd);
    auto b = s.router(2).forward(e.fwd.session, e.fwd.label);
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, e.back);
  });
  // The originator freezes: nothing is sent, every hop expires on its own.
  s.net().schedule_node_freeze(0, s.now());
  const Timestamp frozen_at = s.now();
  s.net().run_until(frozen_at + 60 * kSecond);
  for (sim::NodeIndex i = 1; i < 5; ++i) EXPECT_EQ(s.router(i).circuits().size(), 1u);
  s.net().run_until(frozen_at + s.router(1).config().established_expiry + kSecond);
  for (sim::NodeIndex i = 1; i < 5; ++i) EXPECT_EQ(s.router(i).circuits().size(), 0u) << i;
  bool expired = false;
  for (const auto& te : s.node(4).events())
    if (auto* d = std::get_if<CircuitDown>(&te.event))
      expired |= d->reason == CloseReason::kExpired;
  EXPECT_TRUE(expired);
}

TEST(RouterSim, VanishedOriginatorClosesEveryHop) {
  Topology t = sim::line(5, 10 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(6));
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(4), now); }));
  s.net().run_until(s.now() + kSecond);
  for (sim::NodeIndex i = 0; i < 5; ++i) ASSERT_EQ(s.router(i).circuits().size(), 1u);
  s.net().schedule_node_down(0, s.now());
  s.net().run_until(s.now() + kSecond);
  for (sim::NodeIndex i = 1; i < 5; ++i) EXPECT_EQ(s.router(i).circuits().size(), 0u) << i;
  bool closed = false;
  for (const auto& te : s.node(4).events())
    if (auto* d = std::get_if<CircuitDown>(&te.event))
      closed |= d->reason == CloseReason::kLinkDown;
  EXPECT_TRUE(closed);
}

TEST(RouterSim, TouchKeepsAnEstablishedCircuitAlive) {
  Topology t = sim::line(3, 10 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(8));
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(2), now); }));
  s.net().run_until(s.now() + kSecond);
  const Duration life = s.router(1).config().established_expiry;
  for (int k = 0; k < 5; ++k) {
    s.net().run_until(s.now() + life / 2);
    for (sim::NodeIndex i = 0; i < 3; ++i) {
      s.router(i).circuits().for_each([&](CircuitHandle, const CircuitEntry& e) {
        CircuitSide side = e.back.present() ? e.back : e.fwd;
        EXPECT_TRUE(s.router(i).touch(side.session, side.label, s.now()));
      });
      s.net().wake(i);
    }
  }
  for (sim::NodeIndex i = 0; i < 3; ++i) EXPECT_EQ(s.router(i).circuits().size(), 1u);
  s.net().run_until(s.now() + life + kSecond);
  for (sim::NodeIndex i = 0; i < 3; ++i) EXPECT_EQ(s.router(i).circuits().size(), 0u);
}

TEST(RouterSim, ExplicitCloseFreesEveryHop) {
  Topology t = sim::line(4, 10 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(10));
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(3), now); }));
  s.net().run_until(s.now() + kSecond);
  const CircuitUp* up = first_up(s, 0, 3);
  ASSERT_NE(up, nullptr);
  ASSERT_TRUE(s.with(
      0, [&](Router& r, Timestamp now) { return r.close_circuit(up->session, up->label, now); }));
  s.net().run_until(s.now() + kSecond);
  for (sim::NodeIndex i = 0; i < 4; ++i) EXPECT_EQ(s.router(i).circuits().size(), 0u) << i;
}

// The builder re-probes at a random period of 25 to 40 s while short.
TEST(RouterSim, BuilderReprobesEvery25To40Seconds) {
  Topology t = sim::line(3, 5 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(11));
  PeerPrefix nobody{std::vector<std::uint8_t>(10, 0xab)};
  std::vector<sim::SentMessage> tap;
  s.node(0).tap = &tap;
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(nobody, now, 1); }));
  s.net().run_until(s.now() + 600 * kSecond);
  std::vector<Timestamp> starts;
  for (const auto& m : tap) {
    RoutingMessage msg;
    ASSERT_TRUE(msg.ParseFromString(m.bytes));
    if (msg.has_probe() && msg.probe().route().hops_size() == 1) starts.push_back(m.at);
  }
  ASSERT_GE(starts.size(), 15u);
  std::set<Timestamp> gaps;
  for (std::size_t i = 1; i < starts.size(); ++i) {
    const Timestamp gap = starts[i] - starts[i - 1];
    EXPECT_GE(gap, 25 * kSecond);
    EXPECT_LE(gap, 40 * kSecond);
    gaps.insert(gap);
  }
  EXPECT_GT(gaps.size(), 5u);  // random, not a fixed period
  EXPECT_GT(s.router(0).stats().unreachable_reported, 10u);
}

// A neighbour on an interface not seen before makes the builder probe at once; recent probes
// are re-offered to new neighbours.
TEST(RouterSim, NewInterfaceTriggersImmediateProbe) {
  // 0-1 and 2-3 are separate; 3 is wanted by 0.
  Topology t;
  t.nodes = 4;
  t.edges = {{0, 1, 5 * kMillisecond}, {2, 3, 5 * kMillisecond}};
  RoutingSim s(t, LinkParams{}, options(12));
  std::vector<sim::SentMessage> tap;
  s.node(0).tap = &tap;
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(3), now, 1); }));
  s.net().run_until(s.now() + 3 * kSecond);
  ASSERT_NE(first_unreachable(s, 0), nullptr);
  tap.clear();
  const Timestamp joined = s.now();
  s.add_link(0, 2, LinkParams{5 * kMillisecond, 0, 0}, /*ia=*/7, /*ib=*/1);
  s.net().run_until(joined);
  ASSERT_FALSE(tap.empty());
  RoutingMessage msg;
  ASSERT_TRUE(msg.ParseFromString(tap.front().bytes));
  EXPECT_TRUE(msg.has_probe());
  EXPECT_EQ(tap.front().at, joined);  // at once, not at the next 25..40 s tick
  s.net().run_until(joined + kSecond);
  EXPECT_NE(first_up(s, 0, 3), nullptr);
}

TEST(RouterSim, RecentProbesAreReofferedToNewNeighbours) {
  // 0-1-2, and 3 joins 2 later; the probe from 0 to 3 is re-offered by 2 when 3 appears (on an
  // interface 2 has seen before, so no fresh build from the builder is involved).
  Topology t = sim::line(3, 5 * kMillisecond);
  t.nodes = 4;
  RoutingSim s(t, LinkParams{}, options(13));
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(3), now); }));
  s.net().run_until(s.now() + 5 * kSecond);
  ASSERT_NE(first_unreachable(s, 0), nullptr);
  s.add_link(2, 3, LinkParams{5 * kMillisecond, 0, 0}, 1, 1);
  s.net().run_until(s.now() + kSecond);
  EXPECT_GE(s.router(2).stats().probes_reoffered, 1u);
  EXPECT_NE(first_up(s, 0, 3), nullptr);
}

// A cached route is tried before flooding and costs messages in proportion to its hops.
TEST(RouterSim, CachedRouteCostsHopsNotGraph) {
  Topology t = sim::random_graph(100, 6.0, 31);
  RoutingSim s(t, LinkParams{}, options(14));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.build_circuit(s.prefix(50), now); }));
  s.net().run_until(s.now() + 5 * kSecond);
  const CircuitUp* up = first_up(s, 0, 50);
  ASSERT_NE(up, nullptr);
  const SessionId sess = up->session;
  const Label label = up->label;
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.close_circuit(sess, label, now); }));
  s.net().run_until(s.now() + 5 * kSecond);
  s.node(0).clear_events();
  s.net().reset_stats();
  auto nonce =
      s.with(0, [&](Router& r, Timestamp now) { return r.build_circuit(s.prefix(50), now); });
  ASSERT_TRUE(nonce);
  EXPECT_EQ(*nonce, 0u);  // from the cache
  s.net().run_until(s.now() + 5 * kSecond);
  const CircuitUp* again = first_up(s, 0, 50);
  ASSERT_NE(again, nullptr);
  const auto links = static_cast<std::uint64_t>(again->route.route().hops_size());
  const auto& k = s.net().stats().sent_by_kind;
  EXPECT_EQ(k.count(RoutingMessage::kProbe), 0u);
  EXPECT_EQ(s.net().stats().sent, 2 * links);  // CircuitInit out, CircuitEstablished back
  // The destination side can reuse its cached route too (the seed's Route kind).
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) {
    return r.close_circuit(again->session, again->label, now);
  }));
  s.net().run_until(s.now() + 5 * kSecond);
  s.node(50).clear_events();
  auto n2 = s.with(50, [&](Router& r, Timestamp now) { return r.build_circuit(s.prefix(0), now); });
  ASSERT_TRUE(n2);
  EXPECT_EQ(*n2, 0u);
  s.net().run_until(s.now() + 5 * kSecond);
  const CircuitUp* back = first_up(s, 50, 0);
  ASSERT_NE(back, nullptr);
  EXPECT_FALSE(back->originator);
}

TEST(RouterSim, BrokenCachedRouteFallsBackToFlooding) {
  Topology t = sim::ring(6, 5 * kMillisecond);
  RoutingSim s(t, LinkParams{}, options(15));
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.build_circuit(s.prefix(2), now); }));
  s.net().run_until(s.now() + 2 * kSecond);
  const CircuitUp* up = first_up(s, 0, 2);
  ASSERT_NE(up, nullptr);
  ASSERT_EQ(up->route.route().hops_size(), 2);  // 0-1-2
  ASSERT_TRUE(s.with(
      0, [&](Router& r, Timestamp now) { return r.close_circuit(up->session, up->label, now); }));
  s.net().schedule_link(s.link(1), false, s.now());  // 1-2
  s.net().run_until(s.now() + kSecond);
  s.node(0).clear_events();
  ASSERT_TRUE(
      s.with(0, [&](Router& r, Timestamp now) { return r.build_circuit(s.prefix(2), now); }));
  s.net().run_until(s.now() + 10 * kSecond);
  const CircuitUp* again = first_up(s, 0, 2);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->route.route().hops_size(), 4);  // 0-5-4-3 then 2
}

// Unknown hops are looked up with PeerQuery before verification.
TEST(RouterSim, PeerQueryResolvesUnknownHops) {
  Topology t = sim::line(6, 5 * kMillisecond);
  RoutingSimOptions o = options(16);
  o.know_all_keys = false;
  RoutingSim s(t, LinkParams{}, o);
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(5), now); }));
  s.net().run_until(s.now() + 3 * kSecond);
  EXPECT_NE(first_up(s, 0, 5), nullptr);
  std::uint64_t queries = 0, learned = 0;
  for (sim::NodeIndex i = 0; i < 6; ++i) {
    queries += s.router(i).stats().peer_queries_sent;
    learned += s.router(i).stats().keys_learned;
  }
  EXPECT_GT(queries, 0u);
  EXPECT_GE(learned, queries);
}

TEST(RouterSim, HopLimitMakesFarPeersUnreachable) {
  Topology t = sim::line(12, kMillisecond);
  RoutingSimOptions o = options(17);
  o.config.max_hops = 8;
  RoutingSim s(t, LinkParams{}, o);
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(11), now); }));
  s.net().run_until(s.now() + 3 * kSecond);
  EXPECT_NE(first_unreachable(s, 0), nullptr);
  EXPECT_EQ(count_ups(s, 0), 0u);
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(8), now); }));
  s.net().run_until(s.now() + 3 * kSecond);
  EXPECT_NE(first_up(s, 0, 8), nullptr);
}

TEST(RouterSim, WorksWithSkewedClocksAndLossyLinks) {
  Topology t = sim::random_geometric(80, 7.0, 41);
  RoutingSimOptions o = options(18);
  o.max_unix_skew = 2 * kSecond;
  RoutingSim s(t, LinkParams{kMillisecond, 10e6, 0.05}, o);
  auto comp = t.components();
  int tried = 0;
  for (std::uint32_t b = 1; b < t.nodes && tried < 5; ++b) {
    if (comp[b] != comp[0]) continue;
    ++tried;
    ASSERT_TRUE(
        s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(b), now); }));
    s.net().run_until(s.now() + 5 * kSecond);
    EXPECT_NE(first_up(s, 0, b), nullptr) << b;
  }
}

// Many nodes wanting many peers at once: tables stay within their caps, labels stay small.
TEST(RouterSim, ThousandNodesManyBuildsStayBounded) {
  Topology t = sim::random_graph(1000, 6.0, 51);
  RoutingSim s(t, LinkParams{}, options(19));
  const auto comp = t.components();
  int wanted = 0;
  for (sim::NodeIndex a = 0; a < 6; ++a) {
    if (comp[a] != comp[999 - a]) continue;
    ++wanted;
    ASSERT_TRUE(s.with(
        a, [&](Router& r, Timestamp now) { return r.want_peer(s.prefix(999 - a), now, 2); }));
  }
  s.net().run_until(s.now() + 10 * kSecond);
  int ok = 0;
  for (sim::NodeIndex a = 0; a < 6; ++a) ok += first_up(s, a, 999 - a) != nullptr;
  EXPECT_GE(wanted, 5);
  EXPECT_EQ(ok, wanted);
  for (std::size_t i = 0; i < s.size(); ++i) {
    const Router& r = s.router(static_cast<sim::NodeIndex>(i));
    EXPECT_LE(r.seen_table().size(), r.config().max_seen_probes);
    EXPECT_LE(r.probe_table().size(), r.config().max_probe_entries);
    EXPECT_LE(r.recent_probes(), r.config().max_recent_probes);
  }
}

}  // namespace
}  // namespace qc::routing
