// Complete routes kept for reuse before flooding (the seed's two kinds):
//  - we are the destination: a RouteEstablish we signed for someone's probe (seed: route.Route);
//    reused by sending a CircuitInit toward its originator.
//  - we are the originator: a RouteEstablish a destination signed for our probe (seed:
//    route.RouteEstablish); reused by sending a CircuitInit toward its destination.
// Both are stored as the RouteEstablish plus which end we are. Bounded per peer and in total;
// fewest hops first; dropped when older than the route age limit or when a try fails.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "routing/routing_pb.h"
#include "routing/types.h"

namespace qc::routing {

struct CachedRoute {
  RouteEstablish establish;
  NodeId remote{};
  bool we_originated = false;  // true: replay toward the destination; false: toward originator
};

class RouteCache {
 public:
  RouteCache(std::size_t max_total, std::size_t max_per_peer)
      : max_total_(max_total), max_per_peer_(max_per_peer) {}

  // Stores a route (replacing one with the same destination signature). Over the per-peer cap
  // the longest is dropped; over the total cap the new route is not stored.
  void put(const NodeId& remote, const RouteEstablish& est, bool we_originated);
  // The shortest route to a peer matching `peer` signed no earlier than `min_timestamp_ms`.
  std::optional<CachedRoute> best(const PeerPrefix& peer, std::uint64_t min_timestamp_ms) const;
  // Drops the route whose destination signature is `signature`.
  void evict(const NodeId& remote, const std::string& signature);
  std::size_t size() const { return total_; }

 private:
  std::size_t max_total_;
  std::size_t max_per_peer_;
  std::size_t total_ = 0;
  std::map<NodeId, std::vector<CachedRoute>> routes_;
};

}  // namespace qc::routing
