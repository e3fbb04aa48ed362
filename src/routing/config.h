// Tunables of the routing core. Defaults are the documented protocol defaults (docs/routing.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/clock.h"

namespace qc::routing {

struct Config {
  // ---- probes ----
  std::uint32_t max_copies_per_probe = 2;  // copies of one probe id a node forwards (fan-out)
  std::size_t max_hops = 16;               // probes with more hops are dropped
  Duration probe_lifetime = 60 * kSecond;  // expiry the originator puts in its probes
  Duration max_clock_skew = 5 * kSecond;   // tolerated skew of peers' unix clocks
  // A node next to the destination sends the probe there alone: fewer messages, but it can take
  // a slow direct link over a faster detour (off: see docs/routing.md).
  bool direct_to_destination = false;
  std::uint32_t circuits_per_probe = 2;  // CircuitInits a destination answers one probe id with
  // After the first, the destination answers only copies sharing no relay with earlier answers.
  bool destination_prefers_disjoint = true;
  Duration recent_probe_window = 60 * kSecond;  // probes kept and re-offered to new neighbours
  Duration peer_query_timeout = 5 * kSecond;    // parked messages wait this long for an answer

  // ---- circuits ----
  Duration pending_expiry = 10 * kSecond;        // PENDING state lifetime at every hop
  Duration established_expiry = 120 * kSecond;   // ESTABLISHED lifetime, refreshed by touch()
  Duration cached_attempt_expiry = 3 * kSecond;  // PENDING lifetime of a try from the cache
  Duration route_max_age = 600 * kSecond;        // a RouteEstablish older than this is refused

  // ---- circuit builder ----
  std::uint32_t wanted_circuits = 2;  // good circuits kept per wanted peer
  Duration reprobe_min = 25 * kSecond;
  Duration reprobe_max = 40 * kSecond;
  Duration candidate_hold = 300 * kMillisecond;  // wait for a disjoint route before a shared one
  Duration min_rebuild_interval = 1 * kSecond;   // floor between two builds for one peer
  std::uint32_t max_incoming_per_peer = 4;       // circuits accepted from peers we do not want

  // ---- abuse limits (over a limit: drop and count) ----
  double probe_rate_per_session = 500;  // probes per second per neighbour session (token rate)
  double probe_burst_per_session = 2000;
  std::size_t max_seen_probes = 8192;    // probe ids remembered for duplicate suppression
  std::size_t max_probe_entries = 8192;  // forwarded probes awaiting answers
  std::size_t max_recent_probes = 512;   // probes kept for re-offer
  std::size_t max_circuits = 16384;      // circuit table entries (all roles)
  std::size_t max_parked = 256;          // messages waiting for a PeerQuery answer
  std::size_t max_cached_routes = 1024;  // route cache entries (all peers)
  std::size_t max_cached_per_peer = 4;
  std::size_t max_wanted_peers = 1024;
  std::size_t verified_cache_size = 4096;  // verified route prefixes remembered
};

}  // namespace qc::routing
