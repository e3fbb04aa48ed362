#include "sim/topology.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <set>

namespace qc::sim {

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  std::uint32_t below(std::uint32_t n) { return static_cast<std::uint32_t>(next() % n); }
  Duration between(Duration lo, Duration hi) { return hi <= lo ? lo : lo + next() % (hi - lo + 1); }
};

}  // namespace

std::vector<std::vector<std::pair<std::uint32_t, Duration>>> Topology::adjacency() const {
  std::vector<std::vector<std::pair<std::uint32_t, Duration>>> adj(nodes);
  for (const Edge& e : edges) {
    adj[e.a].push_back({e.b, e.latency});
    adj[e.b].push_back({e.a, e.latency});
  }
  return adj;
}

std::vector<Duration> Topology::shortest_latency(std::uint32_t src) const {
  auto adj = adjacency();
  std::vector<Duration> d(nodes, kNever);
  using Item = std::pair<Duration, std::uint32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> q;
  d[src] = 0;
  q.push({0, src});
  while (!q.empty()) {
    auto [du, u] = q.top();
    q.pop();
    if (du != d[u]) continue;
    for (auto [v, w] : adj[u]) {
      if (du + w < d[v]) {
        d[v] = du + w;
        q.push({d[v], v});
      }
    }
  }
  return d;
}

std::vector<std::uint32_t> Topology::hops_from(std::uint32_t src) const {
  auto adj = adjacency();
  std::vector<std::uint32_t> d(nodes, UINT32_MAX);
  std::queue<std::uint32_t> q;
  d[src] = 0;
  q.push(src);
  while (!q.empty()) {
    std::uint32_t u = q.front();
    q.pop();
    for (auto [v, w] : adj[u]) {
      if (d[v] == UINT32_MAX) {
        d[v] = d[u] + 1;
        q.push(v);
      }
    }
  }
  return d;
}

std::vector<std::uint32_t> Topology::components() const {
  std::vector<std::uint32_t> comp(nodes, UINT32_MAX);
  std::uint32_t c = 0;
  for (std::uint32_t i = 0; i < nodes; ++i) {
    if (comp[i] != UINT32_MAX) continue;
    auto d = hops_from(i);
    for (std::uint32_t j = 0; j < nodes; ++j)
      if (d[j] != UINT32_MAX) comp[j] = c;
    ++c;
  }
  return comp;
}

std::vector<std::uint32_t> Topology::largest_component() const {
  auto comp = components();
  std::vector<std::uint32_t> count(nodes + 1, 0);
  for (auto c : comp) ++count[c];
  auto best =
      static_cast<std::uint32_t>(std::max_element(count.begin(), count.end()) - count.begin());
  std::vector<std::uint32_t> out;
  for (std::uint32_t i = 0; i < nodes; ++i)
    if (comp[i] == best) out.push_back(i);
  return out;
}

Topology Topology::without_edge(std::size_t skip) const {
  Topology t = *this;
  if (skip < t.edges.size()) t.edges.erase(t.edges.begin() + static_cast<std::ptrdiff_t>(skip));
  return t;
}

Topology line(std::uint32_t n, Duration latency) {
  Topology t;
  t.nodes = n;
  for (std::uint32_t i = 0; i + 1 < n; ++i) t.edges.push_back({i, i + 1, latency});
  return t;
}

Topology ring(std::uint32_t n, Duration latency) {
  Topology t = line(n, latency);
  if (n > 2) t.edges.push_back({n - 1, 0, latency});
  return t;
}

Topology grid(std::uint32_t w, std::uint32_t h, Duration latency) {
  Topology t;
  t.nodes = w * h;
  for (std::uint32_t y = 0; y < h; ++y) {
    for (std::uint32_t x = 0; x < w; ++x) {
      std::uint32_t i = y * w + x;
      if (x + 1 < w) t.edges.push_back({i, i + 1, latency});
      if (y + 1 < h) t.edges.push_back({i, i + w, latency});
    }
  }
  return t;
}

Topology random_geometric(std::uint32_t n, double avg_degree, std::uint64_t seed,
                          Duration min_latency, Duration max_latency) {
  Rng rng{seed};
  Topology t;
  t.nodes = n;
  std::vector<double> x(n), y(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    x[i] = rng.uniform();
    y[i] = rng.uniform();
  }
  const double r = std::sqrt(avg_degree / (M_PI * std::max<std::uint32_t>(n, 1)));
  for (std::uint32_t i = 0; i < n; ++i) {
    for (std::uint32_t j = i + 1; j < n; ++j) {
      const double d = std::hypot(x[i] - x[j], y[i] - y[j]);
      if (d <= r) {
        const double f = r > 0 ? d / r : 0;
        const auto lat =
            min_latency + static_cast<Duration>(f * static_cast<double>(max_latency - min_latency));
        t.edges.push_back({i, j, lat});
      }
    }
  }
  return t;
}

Topology random_graph(std::uint32_t n, double avg_degree, std::uint64_t seed, Duration min_latency,
                      Duration max_latency) {
  Rng rng{seed};
  Topology t;
  t.nodes = n;
  const auto m = static_cast<std::size_t>(static_cast<double>(n) * avg_degree / 2.0);
  std::set<std::pair<std::uint32_t, std::uint32_t>> have;
  while (have.size() < m && n > 1) {
    std::uint32_t a = rng.below(n), b = rng.below(n);
    if (a == b) continue;
    if (a > b) std::swap(a, b);
    if (!have.insert({a, b}).second) continue;
    t.edges.push_back({a, b, rng.between(min_latency, max_latency)});
  }
  return t;
}

Topology scale_free(std::uint32_t n, std::uint32_t m, std::uint64_t seed, Duration min_latency,
                    Duration max_latency) {
  Rng rng{seed};
  Topology t;
  t.nodes = n;
  std::vector<std::uint32_t> ends;  // each node once per incident edge
  const std::uint32_t core = std::min(n, m + 1);
  for (std::uint32_t i = 0; i < core; ++i) {
    for (std::uint32_t j = i + 1; j < core; ++j) {
      t.edges.push_back({i, j, rng.between(min_latency, max_latency)});
      ends.push_back(i);
      ends.push_back(j);
    }
  }
  for (std::uint32_t v = core; v < n; ++v) {
    std::set<std::uint32_t> targets;
    while (targets.size() < std::min(m, v)) {
      targets.insert(ends.empty() ? rng.below(v)
                                  : ends[rng.below(static_cast<std::uint32_t>(ends.size()))]);
    }
    for (std::uint32_t u : targets) {
      t.edges.push_back({u, v, rng.between(min_latency, max_latency)});
      ends.push_back(u);
      ends.push_back(v);
    }
  }
  return t;
}

}  // namespace qc::sim
