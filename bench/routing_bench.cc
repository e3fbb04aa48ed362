// Routing benchmark on the simulator (issue 3). Prints, for random graphs of 100 and 1000 nodes:
//  - control messages (probes + answers) per route build / number of edges, bounded fan-out
//    (target <= 4 x fan-out) and unbounded flooding where it finishes within a budget;
//  - messages to set up a circuit from the route cache / its hop count (target: a constant 2);
//  - virtual time to the first established circuit / shortest-path round trip (target <= 1.5);
//  - bytes of state per relay circuit and per probe-table entry.
// Usage: routing_bench [--quick] [--direct]
//   --quick: fewer pairs, for smoke runs; --direct: Config::direct_to_destination on.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sim/routing_node.h"

using qc::Duration;
using qc::kMillisecond;
using qc::kSecond;
using qc::Timestamp;
namespace routing = qc::routing;
namespace sim = qc::sim;

namespace {

struct Pair {
  std::uint32_t a, b;
};

std::vector<Pair> pick_pairs(const sim::Topology& t, std::size_t n, std::uint64_t seed) {
  auto comp = t.largest_component();
  routing::SeededRandom rng(seed);
  std::vector<Pair> out;
  while (out.size() < n && comp.size() > 1) {
    auto a = comp[rng.next() % comp.size()];
    auto b = comp[rng.next() % comp.size()];
    if (a != b) out.push_back({a, b});
  }
  return out;
}

std::uint64_t kind(const sim::NetworkStats& s, int k) {
  auto it = s.sent_by_kind.find(static_cast<std::uint32_t>(k));
  return it == s.sent_by_kind.end() ? 0 : it->second;
}

const routing::CircuitUp* first_up(sim::RoutingSim& s, std::uint32_t at, std::uint32_t remote,
                                   Timestamp* when) {
  for (const auto& te : s.node(at).events()) {
    if (auto* up = std::get_if<routing::CircuitUp>(&te.event); up && up->remote == s.id(remote)) {
      if (when) *when = te.at;
      return up;
    }
  }
  return nullptr;
}

struct BuildResult {
  double msgs_per_edge = 0;  // probes + results, averaged over pairs
  double pq_per_edge = 0;    // PeerQuery + PeerAnswer, averaged over pairs
  double ratio_rtt = 0;      // time to first circuit / shortest RTT, averaged
  double ratio_rtt_max = 0;
  double cache_msgs_per_hop = 0;
  double cache_ratio_rtt = 0;
  double avg_hops = 0;
  std::size_t found = 0, pairs = 0;
  double wall_s = 0;
};

sim::LinkParams link_params() {
  sim::LinkParams p;
  p.bandwidth_bps = 100e6;
  return p;
}

bool g_direct = false;

BuildResult run_bounded(const sim::Topology& t, std::size_t npairs, std::uint64_t seed,
                        bool cold = false) {
  sim::RoutingSimOptions o;
  o.seed = seed;
  o.know_all_keys = !cold;
  o.config.direct_to_destination = g_direct;
  auto wall0 = std::chrono::steady_clock::now();
  sim::RoutingSim s(t, link_params(), o);
  BuildResult r;
  const double edges = static_cast<double>(t.edges.size());
  for (Pair p : pick_pairs(t, npairs, seed)) {
    ++r.pairs;
    const auto lat = t.shortest_latency(p.a);
    const double rtt = 2.0 * static_cast<double>(lat[p.b]);
    s.node(p.a).clear_events();
    s.net().reset_stats();
    const Timestamp start = s.now();
    (void)s.with(
        p.a, [&](routing::Router& rt, Timestamp now) { return rt.send_probe(s.prefix(p.b), now); });
    s.net().run_until_no_traffic(start + 120 * kSecond);
    const auto& st = s.net().stats();
    const double ctl = static_cast<double>(kind(st, routing::RoutingMessage::kProbe) +
                                           kind(st, routing::RoutingMessage::kProbeResult));
    r.msgs_per_edge += ctl / edges;
    r.pq_per_edge += static_cast<double>(kind(st, routing::RoutingMessage::kPeerQuery) +
                                         kind(st, routing::RoutingMessage::kPeerAnswer)) /
                     edges;
    Timestamp when = 0;
    const routing::CircuitUp* up = first_up(s, p.a, p.b, &when);
    if (!up) continue;
    ++r.found;
    const double ratio = static_cast<double>(when - start) / rtt;
    r.ratio_rtt += ratio;
    r.ratio_rtt_max = std::max(r.ratio_rtt_max, ratio);
    // Close every circuit, then build again: the cache is tried first.
    const auto hops = static_cast<double>(up->route.route().hops_size());
    r.avg_hops += hops;
    std::vector<std::pair<qc::sim::SessionId, routing::Label>> open;
    s.router(p.a).circuits().for_each([&](routing::CircuitHandle, const routing::CircuitEntry& e) {
      if (e.role != routing::CircuitRole::kRelay)
        open.push_back({e.fwd.present() ? e.fwd.session : e.back.session,
                        e.fwd.present() ? e.fwd.label : e.back.label});
    });
    for (auto [ss, ll] : open)
      (void)s.with(
          p.a, [&](routing::Router& rt, Timestamp now) { return rt.close_circuit(ss, ll, now); });
    s.net().run_until_no_traffic(s.now() + 10 * kSecond);
    s.node(p.a).clear_events();
    s.net().reset_stats();
    const Timestamp cstart = s.now();
    (void)s.with(p.a, [&](routing::Router& rt, Timestamp now) {
      return rt.build_circuit(s.prefix(p.b), now);
    });
    s.net().run_until_no_traffic(cstart + 10 * kSecond);
    Timestamp cwhen = 0;
    const routing::CircuitUp* cup = first_up(s, p.a, p.b, &cwhen);
    if (cup) {
      r.cache_msgs_per_hop += static_cast<double>(s.net().stats().sent) /
                              static_cast<double>(cup->route.route().hops_size());
      r.cache_ratio_rtt += static_cast<double>(cwhen - cstart) / rtt;
    }
    // Let every circuit state go before the next pair.
    for (std::size_t i = 0; i < s.size(); ++i)
      s.node(static_cast<sim::NodeIndex>(i)).clear_events();
  }
  if (r.pairs) {
    r.msgs_per_edge /= static_cast<double>(r.pairs);
    r.pq_per_edge /= static_cast<double>(r.pairs);
  }
  if (r.found) {
    r.ratio_rtt /= static_cast<double>(r.found);
    r.cache_msgs_per_hop /= static_cast<double>(r.found);
    r.cache_ratio_rtt /= static_cast<double>(r.found);
    r.avg_hops /= static_cast<double>(r.found);
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return r;
}

// Unbounded flooding: every copy forwarded (only the hop limit and loops stop it). Returns the
// control messages per edge, or a negative number when the budget ran out first.
double run_unbounded(const sim::Topology& t, std::uint64_t seed, std::uint64_t budget,
                     std::uint64_t* sent_out) {
  sim::RoutingSimOptions o;
  o.seed = seed;
  o.config.max_copies_per_probe = 1u << 30;
  o.config.circuits_per_probe = 1;
  o.config.max_seen_probes = 1u << 20;
  o.config.max_probe_entries = 1u << 24;
  o.config.probe_rate_per_session = 1e12;
  o.config.probe_burst_per_session = 1e12;
  o.config.max_recent_probes = 0;
  o.config.max_hops = 16;
  sim::RoutingSim s(t, link_params(), o);
  auto pairs = pick_pairs(t, 1, seed);
  if (pairs.empty()) return -1;
  const Pair p = pairs[0];
  s.net().reset_stats();
  (void)s.with(
      p.a, [&](routing::Router& rt, Timestamp now) { return rt.send_probe(s.prefix(p.b), now); });
  while (s.net().in_flight() > 0) {
    s.net().run_until(s.now() + 5 * kMillisecond);
    if (s.net().stats().sent > budget) {
      *sent_out = s.net().stats().sent;
      return -1;
    }
  }
  const auto& st = s.net().stats();
  *sent_out = st.sent;
  return static_cast<double>(kind(st, routing::RoutingMessage::kProbe) +
                             kind(st, routing::RoutingMessage::kProbeResult)) /
         static_cast<double>(t.edges.size());
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--direct") == 0) g_direct = true;
  }
  std::printf(
      "routing_bench: random graphs G(n, m), link latency 1-20 ms, 100 Mbit/s, fan-out 2\n");
  std::printf("%-6s %-4s %6s | %9s %9s | %8s %8s | %9s %9s | %6s %5s %7s\n", "nodes", "deg",
              "edges", "ctl/edge", "target", "t1/RTT", "max", "cache/hop", "cache/RTT", "hops",
              "found", "wall_s");
  struct Conf {
    std::uint32_t n;
    double deg;
    std::size_t pairs;
  };
  std::vector<Conf> confs = {{100, 4, 20}, {100, 8, 20}, {1000, 4, 10}, {1000, 8, 10}};
  for (const Conf& c : confs) {
    const sim::Topology t =
        sim::random_graph(c.n, c.deg, 1000 + c.n + static_cast<std::uint64_t>(c.deg));
    const BuildResult r = run_bounded(t, quick ? 3 : c.pairs, 7);
    std::printf(
        "%-6u %-4.0f %6zu | %9.2f %9.1f | %8.3f %8.3f | %9.2f %9.3f | %6.2f %2zu/%-2zu %7.2f\n",
        c.n, c.deg, t.edges.size(), r.msgs_per_edge, 4.0 * 2, r.ratio_rtt, r.ratio_rtt_max,
        r.cache_msgs_per_hop, r.cache_ratio_rtt, r.avg_hops, r.found, r.pairs, r.wall_s);
  }

  std::printf(
      "\ncold key directories (each node knows only its neighbours; PeerQuery for the rest):\n");
  std::printf("%-6s %-4s %6s | %9s %9s | %8s %8s | %5s\n", "nodes", "deg", "edges", "ctl/edge",
              "query/edge", "t1/RTT", "max", "found");
  for (const Conf& c : {Conf{1000, 6, 5}}) {
    const sim::Topology t = sim::random_graph(c.n, c.deg, 77);
    const BuildResult r = run_bounded(t, quick ? 2 : c.pairs, 9, /*cold=*/true);
    std::printf("%-6u %-4.0f %6zu | %9.2f %9.2f | %8.3f %8.3f | %2zu/%-2zu\n", c.n, c.deg,
                t.edges.size(), r.msgs_per_edge, r.pq_per_edge, r.ratio_rtt, r.ratio_rtt_max,
                r.found, r.pairs);
  }

  std::printf("\nunbounded flooding (every copy forwarded, hop limit 16), budget %s messages:\n",
              quick ? "200k" : "300k");
  std::printf("%-6s %-4s %6s | %12s | %12s\n", "nodes", "deg", "edges", "ctl/edge", "messages");
  std::vector<Conf> uconfs = {{12, 4, 1},  {20, 4, 1},  {30, 4, 1},
                              {100, 4, 1}, {100, 8, 1}, {1000, 4, 1}};
  for (const Conf& c : uconfs) {
    const sim::Topology t =
        sim::random_graph(c.n, c.deg, 1000 + c.n + static_cast<std::uint64_t>(c.deg));
    std::uint64_t sent = 0;
    const double v = run_unbounded(t, 7, quick ? 200'000 : 300'000, &sent);
    if (v < 0) {
      std::printf("%-6u %-4.0f %6zu | %12s | >%11llu\n", c.n, c.deg, t.edges.size(),
                  "did not finish", static_cast<unsigned long long>(sent));
    } else {
      std::printf("%-6u %-4.0f %6zu | %12.2f | %12llu\n", c.n, c.deg, t.edges.size(), v,
                  static_cast<unsigned long long>(sent));
    }
  }

  std::printf("\nstate per entry (bytes, including hash-map nodes; 64-bit):\n");
  std::printf("  relay circuit entry      %zu (CircuitEntry %zu + 2 index nodes)\n",
              routing::CircuitTable::kBytesPerRelayEntry, sizeof(routing::CircuitEntry));
  std::printf("  probe-table entry        %zu + %zu per neighbour forwarded to\n",
              routing::ProbeTable::kBytesPerEntry, routing::ProbeTable::kBytesPerChild);
  std::printf("  seen-probe entry         %zu\n", routing::SeenTable::kBytesPerEntry);
  // A recent (re-offerable) probe keeps the route: measure a typical one.
  {
    const sim::Topology t = sim::random_graph(100, 6, 5);
    sim::RoutingSimOptions o;
    o.seed = 3;
    sim::RoutingSim s(t, link_params(), o);
    std::vector<sim::SentMessage> tap;
    for (std::size_t i = 0; i < s.size(); ++i) s.node(static_cast<sim::NodeIndex>(i)).tap = &tap;
    (void)s.with(
        0, [&](routing::Router& rt, Timestamp now) { return rt.send_probe(s.prefix(50), now); });
    s.net().run_until_no_traffic(s.now() + 60 * kSecond);
    double sum = 0, hops = 0;
    std::size_t n = 0;
    for (const auto& m : tap) {
      routing::RoutingMessage msg;
      if (msg.ParseFromString(m.bytes) && msg.has_probe()) {
        sum += static_cast<double>(m.bytes.size());
        hops += msg.probe().route().hops_size();
        ++n;
      }
    }
    if (n) {
      std::printf(
          "  probe on the wire        %.0f bytes average (%.1f hops; ~%.0f bytes per hop)\n",
          sum / static_cast<double>(n), hops / static_cast<double>(n),
          (sum / static_cast<double>(n)) / (hops / static_cast<double>(n)));
    }
  }
  return 0;
}
