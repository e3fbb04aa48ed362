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

CircuitBuilder::Decision CircuitBuilder::consider(const NodeId& remote,
                                                  const std::vector<PartialId>& relays,
                                                  bool final_offer) {
  WantedPeer* w = find(remote);
  if (!w || !short_of(*w)) return Decision::kReject;
  if (final_offer) return Decision::kAccept;
  for (const auto& c : w->circuits) {
    for (const auto& r : relays) {
      if (std::find(c.relays.begin(), c.relays.end(), r) != c.relays.end()) return Decision::kHold;
    }
  }
  return Decision::kAccept;
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

std::vector<PeerPrefix> CircuitBuilder::due(Timestamp now) {
  std::vector<PeerPrefix> out;
  for (auto& w : peers_) {
    if (w.next_build > now) continue;
    if (short_of(w)) {
      out.push_back(w.peer);
      w.last_build = now;
      ++w.builds;
    }
    w.next_build = now + random_.between(config_.reprobe_min, config_.reprobe_max);
  }
  return out;
}

Timestamp CircuitBuilder::next_deadline() const {
  Timestamp t = kNever;
  for (const auto& w : peers_) t = std::min(t, w.next_build);
  return t;
}

}  // namespace qc::routing
