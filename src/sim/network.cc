#include "sim/network.h"

#include <cmath>

namespace qc::sim {

Network::Network(std::uint64_t seed, Timestamp start) : now_(start), rng_(seed) {}

std::uint64_t Network::random() {
  std::uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

NodeIndex Network::add_node(std::unique_ptr<Node> node) {
  NodeSlot slot;
  slot.node = std::move(node);
  nodes_.push_back(std::move(slot));
  return static_cast<NodeIndex>(nodes_.size() - 1);
}

LinkId Network::add_link(NodeIndex a, NodeIndex b, LinkParams params, InterfaceId iface_a,
                         InterfaceId iface_b, bool up) {
  Link l{};
  l.end[0] = a;
  l.end[1] = b;
  l.iface[0] = iface_a;
  l.iface[1] = iface_b;
  l.params = params;
  links_.push_back(l);
  const auto id = static_cast<LinkId>(links_.size() - 1);
  nodes_[a].links.push_back(id);
  nodes_[b].links.push_back(id);
  if (up) set_link(id, true);
  return id;
}

void Network::push(Event e) {
  e.seq = seq_++;
  queue_.push(std::move(e));
}

void Network::schedule_link(LinkId link, bool up, Timestamp at) {
  push(Event{at, 0, up ? Kind::kLinkUp : Kind::kLinkDown, link, 0, {}});
}

void Network::schedule_node_down(NodeIndex node, Timestamp at) {
  push(Event{at, 0, Kind::kNodeDown, node, 0, {}});
}

void Network::schedule_node_freeze(NodeIndex node, Timestamp at) {
  push(Event{at, 0, Kind::kNodeFreeze, node, 0, {}});
}

void Network::set_link(LinkId id, bool up) {
  Link& l = links_[id];
  if (l.up == up) return;
  if (up && (!nodes_[l.end[0]].alive || !nodes_[l.end[1]].alive)) return;
  l.up = up;
  if (up) {
    l.session = next_session_++;
    sessions_[l.session] = id;
    l.busy_until[0] = l.busy_until[1] = now_;
    for (int side = 0; side < 2; ++side) {
      NodeIndex n = l.end[side];
      nodes_[n].node->on_link_up(*this, l.session, l.end[1 - side], l.iface[side], now_);
      reschedule(n);
    }
  } else {
    sessions_.erase(l.session);
    for (int side = 0; side < 2; ++side) {
      NodeIndex n = l.end[side];
      if (!nodes_[n].alive || nodes_[n].frozen) continue;
      nodes_[n].node->on_link_down(*this, l.session, now_);
      reschedule(n);
    }
  }
}

void Network::send(NodeIndex from, SessionId session, Packet packet) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  Link& l = links_[it->second];
  const int side = l.end[0] == from ? 0 : 1;
  if (l.end[side] != from || nodes_[from].frozen) return;
  ++stats_.sent;
  stats_.bytes += packet.bytes;
  ++stats_.sent_by_kind[packet.kind];
  Timestamp start = std::max(now_, l.busy_until[side]);
  Duration tx = 0;
  if (l.params.bandwidth_bps > 0)
    tx = static_cast<Duration>(static_cast<double>(packet.bytes) * 8.0 * 1e9 /
                               l.params.bandwidth_bps);
  l.busy_until[side] = start + tx;
  Timestamp at = start + tx + l.params.latency;
  auto lost = [&] {
    return l.params.loss > 0 && static_cast<double>(random() >> 11) * 0x1.0p-53 < l.params.loss;
  };
  if (packet.reliable) {
    // Each loss costs a retransmission after about three one-way delays.
    for (int i = 0; i < 16 && lost(); ++i) at += 3 * l.params.latency + kMillisecond;
  } else if (lost()) {
    ++stats_.lost;
    return;
  }
  ++in_flight_;
  push(Event{at, 0, Kind::kDeliver, l.end[1 - side], session, std::move(packet)});
}

void Network::reschedule(NodeIndex n) {
  NodeSlot& s = nodes_[n];
  if (!s.alive || s.frozen) return;
  Timestamp d = s.node->next_deadline();
  if (d < now_) d = now_;
  if (d < s.wake) {
    s.wake = d;
    push(Event{d, 0, Kind::kWake, n, 0, {}});
  }
}

void Network::wake(NodeIndex node) {
  reschedule(node);
}

std::optional<NodeIndex> Network::peer_of(NodeIndex from, SessionId session) const {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return std::nullopt;
  const Link& l = links_[it->second];
  if (l.end[0] == from) return l.end[1];
  if (l.end[1] == from) return l.end[0];
  return std::nullopt;
}

void Network::dispatch(Event& e) {
  ++stats_.events;
  switch (e.kind) {
    case Kind::kDeliver: {
      --in_flight_;
      NodeSlot& s = nodes_[e.target];
      if (!s.alive || s.frozen || sessions_.count(e.session) == 0) {
        ++stats_.dropped_down;
        return;
      }
      ++stats_.delivered;
      s.node->on_packet(*this, e.session, e.packet, now_);
      reschedule(e.target);
      break;
    }
    case Kind::kLinkUp:
      set_link(e.target, true);
      break;
    case Kind::kLinkDown:
      set_link(e.target, false);
      break;
    case Kind::kNodeDown: {
      NodeSlot& s = nodes_[e.target];
      if (!s.alive) return;
      s.alive = false;
      for (LinkId l : s.links) set_link(l, false);
      break;
    }
    case Kind::kNodeFreeze:
      nodes_[e.target].frozen = true;
      break;
    case Kind::kWake: {
      NodeSlot& s = nodes_[e.target];
      if (!s.alive || s.frozen || s.wake != e.at) return;  // stale or frozen
      s.wake = kNever;
      s.node->on_timeout(*this, now_);
      reschedule(e.target);
      break;
    }
  }
}

void Network::run_until(Timestamp t) {
  while (!queue_.empty() && queue_.top().at <= t) {
    Event e = queue_.top();
    queue_.pop();
    if (e.at > now_) now_ = e.at;
    dispatch(e);
  }
  if (t > now_) now_ = t;
}

bool Network::run_until_quiet(Timestamp limit) {
  while (!queue_.empty()) {
    if (queue_.top().at > limit) {
      now_ = limit;
      return false;
    }
    Event e = queue_.top();
    queue_.pop();
    if (e.at > now_) now_ = e.at;
    dispatch(e);
  }
  return true;
}

bool Network::run_until_no_traffic(Timestamp limit) {
  while (in_flight_ > 0 && !queue_.empty()) {
    if (queue_.top().at > limit) {
      now_ = limit;
      return false;
    }
    Event e = queue_.top();
    queue_.pop();
    if (e.at > now_) now_ = e.at;
    dispatch(e);
  }
  return in_flight_ == 0;
}

}  // namespace qc::sim
