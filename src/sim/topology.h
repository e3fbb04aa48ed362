// Topology builders for the simulator: deterministic for a seed. A Topology is a plain edge list
// with a one-way latency per edge; graph helpers answer what tests and benchmarks compare with
// (shortest latency, hop distance, connected components).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace qc::sim {

struct Edge {
  std::uint32_t a = 0;
  std::uint32_t b = 0;
  Duration latency = kMillisecond;
};

struct Topology {
  std::uint32_t nodes = 0;
  std::vector<Edge> edges;

  double average_degree() const {
    return nodes == 0 ? 0 : 2.0 * static_cast<double>(edges.size()) / nodes;
  }
  std::vector<std::vector<std::pair<std::uint32_t, Duration>>> adjacency() const;
  // One-way shortest latency from `src` to every node (kNever when unreachable).
  std::vector<Duration> shortest_latency(std::uint32_t src) const;
  // Hop distance from `src` (UINT32_MAX when unreachable).
  std::vector<std::uint32_t> hops_from(std::uint32_t src) const;
  // Component index of every node.
  std::vector<std::uint32_t> components() const;
  // Nodes of the largest component.
  std::vector<std::uint32_t> largest_component() const;
  // The edge index list without edge `skip`.
  Topology without_edge(std::size_t skip) const;
};

// 0 - 1 - ... - n-1
Topology line(std::uint32_t n, Duration latency = kMillisecond);
Topology ring(std::uint32_t n, Duration latency = kMillisecond);
// w x h grid, 4-neighbour.
Topology grid(std::uint32_t w, std::uint32_t h, Duration latency = kMillisecond);
// Nodes uniform in the unit square, joined when closer than the radius that gives
// `avg_degree`; latency grows with distance from min to max.
Topology random_geometric(std::uint32_t n, double avg_degree, std::uint64_t seed,
                          Duration min_latency = kMillisecond,
                          Duration max_latency = 20 * kMillisecond);
// G(n, m) with m = n * avg_degree / 2 distinct edges; latencies uniform in [min, max].
Topology random_graph(std::uint32_t n, double avg_degree, std::uint64_t seed,
                      Duration min_latency = kMillisecond,
                      Duration max_latency = 20 * kMillisecond);
// Barabasi-Albert preferential attachment, `m` edges per new node.
Topology scale_free(std::uint32_t n, std::uint32_t m, std::uint64_t seed,
                    Duration min_latency = kMillisecond, Duration max_latency = 20 * kMillisecond);

}  // namespace qc::sim
