// Counters of the routing core: everything dropped is counted here, by reason.
#pragma once

#include <cstdint>

namespace qc::routing {

struct Stats {
  // probes
  std::uint64_t probes_originated = 0;
  std::uint64_t probes_received = 0;
  std::uint64_t probes_forwarded = 0;  // copies sent (one per next neighbour)
  std::uint64_t probes_reoffered = 0;
  std::uint64_t probes_reached = 0;  // at this node as the destination
  std::uint64_t drop_malformed = 0;
  std::uint64_t drop_expired = 0;
  std::uint64_t drop_contains_us = 0;
  std::uint64_t drop_duplicate = 0;     // repeated copy hash, or over the copy limit
  std::uint64_t drop_not_disjoint = 0;  // at the destination: shares a relay with an answer
  std::uint64_t drop_avoided = 0;       // we are in the probe's avoid list
  std::uint64_t drop_hop_limit = 0;
  std::uint64_t drop_bad_signature = 0;
  std::uint64_t drop_bad_link = 0;  // last hop is not the sending neighbour, or not to us
  std::uint64_t drop_rate_limited = 0;
  std::uint64_t drop_table_full = 0;
  std::uint64_t drop_unknown_key = 0;  // still unknown after a PeerQuery
  std::uint64_t drop_no_next_hop = 0;  // no neighbour left that is not in the path
  std::uint64_t dead_ends_sent = 0;
  std::uint64_t results_received = 0;
  std::uint64_t results_unmatched = 0;
  std::uint64_t peer_queries_sent = 0;
  std::uint64_t peer_answers_sent = 0;
  std::uint64_t keys_learned = 0;
  std::uint64_t keys_rejected = 0;
  // circuits
  std::uint64_t circuit_inits_received = 0;
  std::uint64_t circuits_rejected = 0;
  std::uint64_t circuits_established = 0;  // at this node, as an endpoint
  std::uint64_t circuits_relayed = 0;
  std::uint64_t circuits_expired = 0;
  std::uint64_t circuits_closed = 0;
  std::uint64_t circuit_msgs_unmatched = 0;
  std::uint64_t cache_attempts = 0;
  std::uint64_t unreachable_reported = 0;
  std::uint64_t messages_sent = 0;
};

}  // namespace qc::routing
