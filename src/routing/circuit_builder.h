// The CircuitBuilder: keeps `wanted` good circuits to each wanted peer.
//
// Policy (docs/routing.md): a build is due at once when a peer is first wanted, then every
// random 25..40 s (Config::reprobe_min/max) while the peer has fewer established circuits than
// wanted; at once for every short peer when a neighbour appears on an interface not seen before;
// at once (at most every min_rebuild_interval) when the last circuit to a peer goes down; and
// at once, at most twice a period, after a probe round that left the peer short. With no
// circuit, a build tries the route cache first and floods a probe otherwise; with some, it
// floods a probe that avoids their relays (the Router does that).
// Among offered circuits it prefers ones disjoint (no shared relay) from those it holds; a
// circuit sharing a relay is held for candidate_hold and taken only if still short then. A peer
// held over circuits that all share a relay counts as short too (one relay's failure would cut
// every circuit): builds go on with probes avoiding that relay, and only a disjoint circuit is
// taken, until such a probe finds nothing (then again next period).
// Pure state: no IO, time passed in, randomness injected.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "routing/config.h"
#include "routing/crypto.h"
#include "routing/types.h"

namespace qc::routing {

struct HeldCircuit {
  CircuitId id = 0;
  std::vector<PartialId> relays;
};

struct WantedPeer {
  PeerPrefix peer;
  std::uint32_t wanted = 0;
  Timestamp next_build = 0;  // when the next build is due (if still short)
  Timestamp period_end = 0;  // the next tick of the random 25..40 s period
  Timestamp last_build = 0;  // when the last build started (0: never)
  std::uint64_t builds = 0;
  std::uint32_t followups = 0;        // immediate extra builds in this period
  bool avoid_failed = false;          // a probe avoiding our circuits' relays found nothing
  Timestamp avoid_retry = 0;          // ...and after this, one may try again (lacks_disjoint)
  Duration avoid_backoff = 0;         // the wait before that retry; doubles within a period
  std::vector<HeldCircuit> circuits;  // established circuits to this peer
};

class CircuitBuilder {
 public:
  enum class Decision { kAccept, kHold, kReject };

  CircuitBuilder(const Config& config, Random& random) : config_(config), random_(random) {}

  // Wants `count` circuits to `peer` (0: the configured default); a build is due at once.
  Result<void> want(const PeerPrefix& peer, std::uint32_t count, Timestamp now);
  void unwant(const PeerPrefix& peer);
  // The wanted entry matching a remote node id, or null.
  WantedPeer* find(const NodeId& remote);
  const std::vector<WantedPeer>& peers() const { return peers_; }

  // Should an offered circuit to `remote` over `relays` be taken? `final_offer` is true when
  // a held candidate's hold ran out. Peers not wanted get kReject (the Router applies its own
  // limit for unsolicited circuits).
  Decision consider(const NodeId& remote, const std::vector<PartialId>& relays, bool final_offer);
  void on_up(const NodeId& remote, CircuitId id, std::vector<PartialId> relays);
  void on_down(const NodeId& remote, CircuitId id, Timestamp now);
  // A neighbour session came up on an interface never seen before: short peers build now.
  void on_new_interface(Timestamp now);
  // A neighbour session came up (any interface): a disjoint path may exist now, so peers whose
  // circuits all share a relay try again (at most every min_rebuild_interval).
  void on_new_neighbour(Timestamp now);

  // Relays to avoid in the next probe to `peer`: those of the circuits it holds (so the new
  // circuit is disjoint), unless such a probe already failed this period. Empty: no constraint.
  std::vector<PartialId> avoid_for(const PeerPrefix& peer) const;
  // A build for `peer` sent probe `nonce` (with an avoid list or not).
  void on_probe_sent(const PeerPrefix& peer, std::uint64_t nonce, bool avoided);
  // Every branch of probe `nonce` answered. A round that reached the peer but left it short, or
  // an avoiding probe that found nothing, is followed by another build at once (at most
  // kMaxFollowups per period; the second without the avoid list).
  void on_probe_done(std::uint64_t nonce, bool reached, Timestamp now);
  static constexpr std::uint32_t kMaxFollowups = 2;
  // First wait before a probe avoiding shared relays is tried again after one found nothing.
  static constexpr Duration kAvoidRetryMin = kSecond;

  // Peers whose build is due at `now` and still short; each gets its next random deadline.
  std::vector<PeerPrefix> due(Timestamp now);
  Timestamp next_deadline() const;

 private:
  // Fewer circuits than wanted, or (wanting two or more) no two of them disjoint while a probe
  // avoiding their relays has not failed this period: one relay's loss would cut them all.
  bool short_of(const WantedPeer& w) const { return count_short(w) || lacks_disjoint(w); }
  bool count_short(const WantedPeer& w) const { return w.circuits.size() < w.wanted; }
  bool lacks_disjoint(const WantedPeer& w) const;
  WantedPeer* find_prefix(const PeerPrefix& peer);
  struct SentProbe {
    PeerPrefix peer;
    bool avoided;
  };
  const Config& config_;
  Random& random_;
  std::vector<WantedPeer> peers_;
  std::map<std::uint64_t, SentProbe> sent_;  // probes in flight, by nonce (bounded)
};

}  // namespace qc::routing
