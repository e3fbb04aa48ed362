#include "channel/channel_manager.h"

#include "transport/connection.h"

namespace qc::channel {

ChannelManager::ChannelManager(const ChannelConfig& config, circuit::DataPlane& data_plane,
                               ChannelObserver& observer)
    : config_(config), dp_(data_plane), observer_(observer) {}

ChannelManager::~ChannelManager() = default;

void ChannelManager::on_circuit_up(const NodeId& remote, circuit::SessionId session,
                                   circuit::Label label, Timestamp now) {
  circuits_[{session, label}] = remote;
  dp_.add_local(session, label);
  if (Channel* c = find(remote)) c->add_path(session, label, now);
}

void ChannelManager::on_circuit_down(circuit::SessionId session, circuit::Label label,
                                     Timestamp now) {
  auto it = circuits_.find({session, label});
  if (it == circuits_.end()) return;
  NodeId remote = it->second;
  circuits_.erase(it);
  dp_.remove_local(session, label);
  if (Channel* c = find(remote)) c->remove_path(session, label, now);
  flush(now);
}

Channel* ChannelManager::find(const NodeId& peer) {
  auto it = channels_.find(peer);
  return it == channels_.end() || it->second->is_closed() ? nullptr : it->second.get();
}

Channel* ChannelManager::create(const NodeId& peer, Timestamp now) {
  auto& slot = channels_[peer];
  slot = std::make_unique<Channel>(config_, dp_, observer_, peer, now);
  for (const auto& [key, remote] : circuits_) {
    if (remote == peer) slot->add_path(key.first, key.second, now);
  }
  return slot.get();
}

Channel* ChannelManager::open(const NodeId& peer, Timestamp now) {
  Channel* c = find(peer);
  if (c == nullptr) c = create(peer, now);
  c->start(now);
  c->flush(now);
  return c;
}

void ChannelManager::on_circuit_packet(circuit::SessionId session, circuit::Label label,
                                       circuit::PacketType type, ByteView body, Timestamp now) {
  auto it = circuits_.find({session, label});
  if (it == circuits_.end()) return;
  const NodeId peer = it->second;
  if (type == circuit::PacketType::kStats) {
    // Answer probes on every circuit we end, so the prober learns RTT and room per path.
    auto s = circuit::decode_stats(body);
    if (s && !s->reply) {
      s->reply = true;
      (void)dp_.send(session, label, circuit::PacketType::kStats, circuit::encode_stats(*s));
      return;
    }
  }
  Channel* c = find(peer);
  if (c != nullptr && c->is_ready() && now - c->ready_at() > kRestartGuard) {
    bool restarted = (type == circuit::PacketType::kWake && c->is_client()) ||
                     (type == circuit::PacketType::kData && !c->is_client() &&
                      transport::Connection::is_client_initial(body));
    if (restarted) {
      c->close(now, "peer restarted");
      c = nullptr;
    }
  }
  if (c == nullptr) {
    bool server_initial = type == circuit::PacketType::kData && !(config_.self < peer) &&
                          transport::Connection::is_client_initial(body);
    bool wake = type == circuit::PacketType::kWake && config_.self < peer;
    if (!server_initial && !wake) return;
    c = create(peer, now);
    if (wake) {
      c->start(now);
      return;
    }
  }
  c->on_packet(session, label, type, body, now);
}

void ChannelManager::on_session_writable(circuit::SessionId session, Timestamp now) {
  for (auto& [peer, c] : channels_) {
    for (const auto& p : c->paths()) {
      if (p.session == session) {
        c->on_session_writable(session, now);
        break;
      }
    }
  }
}

void ChannelManager::flush(Timestamp now) {
  for (auto& [peer, c] : channels_) c->flush(now);
  sweep();
}

Timestamp ChannelManager::next_deadline() const {
  Timestamp t = kNever;
  for (const auto& [peer, c] : channels_) t = std::min(t, c->next_deadline());
  return t;
}

void ChannelManager::on_timer(Timestamp now) {
  for (auto& [peer, c] : channels_) {
    if (c->next_deadline() <= now) c->on_timer(now);
  }
  sweep();
}

void ChannelManager::sweep() {
  std::erase_if(channels_, [](const auto& kv) { return kv.second->is_closed(); });
}

}  // namespace qc::channel
