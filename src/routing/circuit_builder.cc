#include "routing/circuit_builder.h"

#include <algorithm>

namespace qc::routing {

Result<void> CircuitBuilder::want(const PeerPrefix& peer, std::uint32_t count, Timestamp now) {
  if (!peer.valid()) return Err(Errc::kInvalidArgument, "peer prefix must be 10..32 bytes");
  if (count == 0) count = config_.wanted_circuits;
  for (auto& w : peers_) {
    if (w.peer == peer) {
      w.wanted = count;
      w.next_build = std::min(w.next_build, now);
      return Ok();
    }
  }
  if (peers_.size() >= config_.max_wanted_peers) return Err(Errc::kLimit, "too many wanted peers");
  WantedPeer w;
  w.peer = peer;
  w.wanted = count;
  w.next_build = now;
  w.period_end = now;
  peers_.push_back(std::move(w));
  return Ok();
}

void CircuitBuilder::unwant(const PeerPrefix& peer) {
  std::erase_if(peers_, [&](const WantedPeer& w) { return w.peer == peer; });
}

WantedPeer* CircuitBuilder::find(const NodeId& remote) {
  for (auto& w : peers_)
    if (w.peer.matches(remote)) return &w;
  return nullptr;
}

namespace {
bool share_relay(const std::vector<PartialId>& a, const std::vector<PartialId>& b) {
  for (const auto& r : a)
    if (std::find(b.begin(), b.end(), r) != b.end()) return true;
  return false;
}
}  // namespace

bool CircuitBuilder::lacks_disjoint(const WantedPeer& w) const {
  if (w.wanted < 2 || w.circuits.size() < 2 || w.avoid_failed) return false;
  for (std::size_t i = 0; i < w.circuits.size(); ++i)
    for (std::size_t j = i + 1; j < w.circuits.size(); ++j)
      if (!share_relay(w.circuits[i].relays, w.circuits[j].relays)) return false;
  return true;
}

CircuitBuilder::Decision CircuitBuilder::consider(const NodeId& remote,
                                                  const std::vector<PartialId>& relays,
                                                  bool final_offer) {
  WantedPeer* w = find(remote);
  if (!w || !short_of(*w)) return Decision::kReject;
  bool disjoint_from_one = w->circuits.empty();
  bool shares_with_one = false;
  for (const auto& c : w->circuits) {
    if (share_relay(relays, c.relays))
      shares_with_one = true;
    else
      disjoint_from_one = true;
  }
  // Enough circuits, none disjoint: only one that gives a disjoint pair is worth taking.
  if (!count_short(*w)) return disjoint_from_one ? Decision::kAccept : Decision::kReject;
  if (final_offer || !shares_with_one) return Decision::kAccept;
  return Decision::kHold;
}

void CircuitBuilder::on_up(const NodeId& remote, CircuitId id, std::vector<PartialId> relays) {
  WantedPeer* w = find(remote);
  if (!w) return;
  w->circuits.push_back(HeldCircuit{id, std::move(relays)});
}

void CircuitBuilder::on_down(const NodeId& remote, CircuitId id, Timestamp now) {
  WantedPeer* w = find(remote);
  if (!w) return;
  std::erase_if(w->circuits, [&](const HeldCircuit& c) { return c.id == id; });
  if (w->circuits.empty()) {
    Timestamp at =
        w->last_build == 0 ? now : std::max(now, w->last_build + config_.min_rebuild_interval);
    w->next_build = std::min(w->next_build, at);
  }
}

void CircuitBuilder::on_new_interface(Timestamp now) {
  for (auto& w : peers_)
    if (short_of(w)) w.next_build = now;
}

void CircuitBuilder::on_new_neighbour(Timestamp now) {
  for (auto& w : peers_) {
    if (!w.avoid_failed) continue;
    w.avoid_failed = false;
    if (!lacks_disjoint(w)) continue;
    Timestamp at =
        w.last_build == 0 ? now : std::max(now, w.last_build + config_.min_rebuild_interval);
    w.next_build = std::min(w.next_build, at);
  }
}

std::vector<PeerPrefix> CircuitBuilder::due(Timestamp now) {
  std::vector<PeerPrefix> out;
  for (auto& w : peers_) {
    if (w.next_build > now) continue;
    if (w.period_end <= now) {
      w.period_end = now + random_.between(config_.reprobe_min, config_.reprobe_max);
      w.followups = 0;
      w.avoid_failed = false;
      w.avoid_backoff = 0;
    } else if (w.avoid_failed && w.avoid_retry <= now) {
      w.avoid_failed = false;  // the way around may exist by now (a relay's link came up)
    }
    if (short_of(w)) {
      out.push_back(w.peer);
      w.last_build = now;
      ++w.builds;
    }
    w.next_build = w.period_end;
  }
  return out;
}

WantedPeer* CircuitBuilder::find_prefix(const PeerPrefix& peer) {
  for (auto& w : peers_)
    if (w.peer == peer) return &w;
  return nullptr;
}

std::vector<PartialId> CircuitBuilder::avoid_for(const PeerPrefix& peer) const {
  std::vector<PartialId> out;
  for (const auto& w : peers_) {
    if (!(w.peer == peer) || w.avoid_failed) continue;
    for (const auto& c : w.circuits) {
      for (const auto& r : c.relays) {
        if (out.size() >= 16) return out;
        if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
      }
    }
  }
  return out;
}

void CircuitBuilder::on_probe_sent(const PeerPrefix& peer, std::uint64_t nonce, bool avoided) {
  while (sent_.size() >= 2 * config_.max_wanted_peers + 16) sent_.erase(sent_.begin());
  sent_[nonce] = SentProbe{peer, avoided};
}

void CircuitBuilder::on_probe_done(std::uint64_t nonce, bool reached, Timestamp now) {
  auto it = sent_.find(nonce);
  if (it == sent_.end()) return;
  const SentProbe sp = it->second;
  sent_.erase(it);
  WantedPeer* w = find_prefix(sp.peer);
  if (!w) return;
  if (!reached && sp.avoided) {
    // No way around the relays our circuits share, for now. Look again soon (a relay's link
    // may come up later), less often each time, until the period ends.
    w->avoid_failed = true;
    w->avoid_backoff =
        std::clamp<Duration>(2 * w->avoid_backoff, kAvoidRetryMin, config_.reprobe_min);
    w->avoid_retry = now + w->avoid_backoff;
    if (!count_short(*w)) w->next_build = std::min(w->next_build, w->avoid_retry);
  }
  if (!short_of(*w) || w->followups >= kMaxFollowups) return;
  if (!reached && !sp.avoided) return;  // unreachable: wait for the period
  ++w->followups;
  w->next_build =
      std::min(w->next_build, std::max(now, w->last_build + config_.min_rebuild_interval));
}

Timestamp CircuitBuilder::next_deadline() const {
  Timestamp t = kNever;
  for (const auto& w : peers_) t = std::min(t, w.next_build);
  return t;
}

}  // namespace qc::routing
