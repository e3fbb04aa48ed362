#include "routing/route_cache.h"

#include <algorithm>

namespace qc::routing {

void RouteCache::put(const NodeId& remote, const RouteEstablish& est, bool we_originated) {
  auto& v = routes_[remote];
  for (auto& r : v) {
    if (r.establish.signature() == est.signature()) return;
  }
  if (total_ >= max_total_ && v.size() < max_per_peer_) {
    if (v.empty()) routes_.erase(remote);
    return;
  }
  v.push_back(CachedRoute{est, remote, we_originated});
  ++total_;
  std::stable_sort(v.begin(), v.end(), [](const CachedRoute& a, const CachedRoute& b) {
    return a.establish.route().hops_size() < b.establish.route().hops_size();
  });
  while (v.size() > max_per_peer_) {
    v.pop_back();
    --total_;
  }
}

std::optional<CachedRoute> RouteCache::best(const PeerPrefix& peer,
                                            std::uint64_t min_timestamp_ms) const {
  if (!peer.valid()) return std::nullopt;
  NodeId lo{};
  std::copy(peer.bytes.begin(), peer.bytes.end(), lo.begin());
  const CachedRoute* found = nullptr;
  for (auto it = routes_.lower_bound(lo); it != routes_.end() && peer.matches(it->first); ++it) {
    for (const auto& r : it->second) {
      if (r.establish.timestamp_ms() < min_timestamp_ms) continue;
      if (!found || r.establish.route().hops_size() < found->establish.route().hops_size())
        found = &r;
      break;  // sorted by hops
    }
  }
  if (!found) return std::nullopt;
  return *found;
}

void RouteCache::evict(const NodeId& remote, const std::string& signature) {
  auto it = routes_.find(remote);
  if (it == routes_.end()) return;
  auto& v = it->second;
  auto n =
      std::erase_if(v, [&](const CachedRoute& r) { return r.establish.signature() == signature; });
  total_ -= n;
  if (v.empty()) routes_.erase(it);
}

}  // namespace qc::routing
