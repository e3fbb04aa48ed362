// Node: VPN mode. See node_vpn.h for how the TUN, the VpnRouter and the channels meet.
#include "daemon/node_vpn.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "tun/tun_mtu.h"

namespace qc::daemon {

namespace {

std::string text_of(const identity::PartialId& p) {
  return identity::text_id(p);
}

}  // namespace

Node::Vpn::~Vpn() {
  stop();
}

Result<void> Node::Vpn::start() {
  if (!node.dataplane_ || !node.dataplane_->channels)
    return Err(Errc::kUnsupported, "VPN mode needs the channels, which are not running");
  tun::TunConfig tc;
  tc.name = node.config_.vpn.device;
  tc.address = node.identity_->address();
  // "auto" starts at the IPv6 minimum, which every channel carries, and grows when channels
  // report more room (maybe_raise_mtu).
  tc.mtu = node.config_.vpn.mtu == 0 ? tun::kIpv6MinMtu : node.config_.vpn.mtu;
  // TCP segments from one receive batch go to the kernel merged (tun::TcpCoalescer).
  tc.tcp_gso = node.config_.vpn.merge_writes;
  auto t = tun::LinuxTun::open(tc);
  if (!t) return Err(t.error().code, "VPN mode off: " + t.error().message);
  tun_ = std::move(*t);
  tun::VpnRouter::Config rc;
  rc.self = node.identity_->address();
  // The same expose rules as for proxied streams (docs/vpn.md).
  tun::InboundFilter::Config fc;
  if (auto policy = front::ExposePolicy::parse(node.config_.expose))
    for (const auto& r : policy->rules) fc.ports.insert(r.port);
  rc.filter = fc;
  read_batch_ = rc.read_batch;
  router_ = std::make_unique<tun::VpnRouter>(rc, *tun_, *this);
  fd_ = std::make_unique<asio::posix::stream_descriptor>(node.io_, tun_->fd());
  timer_ = std::make_unique<asio::steady_timer>(node.io_);

  node.dataplane_->pump->set_after_flush([this] { after_flush(); });
  node.dataplane_->channel_closed = [this](const identity::NodeId& peer, const Error& why) {
    on_channel_closed(peer, why);
  };
  node_log()->info("VPN mode: device {} address {} route {} mtu {}{}", tun_->name(),
                   identity::ipv6_to_string(tc.address),
                   identity::cluster_prefix(node.identity_->cluster_id()), tun_->mtu(),
                   node.config_.vpn.mtu == 0 ? " (auto)" : "");
  wait_readable();
  return Ok();
}

void Node::Vpn::stop() {
  if (stopped_) return;
  if (router_) router_->flush_tun();  // what arrived is delivered, not dropped
  stopped_ = true;
  *alive_ = false;
  if (node.dataplane_) {
    if (node.dataplane_->pump) node.dataplane_->pump->set_after_flush(nullptr);
    node.dataplane_->channel_closed = nullptr;
  }
  if (timer_) timer_->cancel();
  if (fd_) {
    std::error_code ec;
    fd_->cancel(ec);
    (void)fd_->release();  // the descriptor belongs to the LinuxTun
  }
}

void Node::Vpn::later(std::function<void()> fn) {
  asio::post(node.io_, [alive = alive_, fn = std::move(fn)] {
    if (*alive) fn();
  });
}

// ---- TUN -> mesh ----

void Node::Vpn::wait_readable() {
  if (waiting_ || stopped_ || !busy_.empty()) return;
  waiting_ = true;
  fd_->async_wait(asio::posix::stream_descriptor::wait_read,
                  [this, alive = alive_](const std::error_code& ec) {
                    if (!*alive) return;
                    waiting_ = false;
                    if (ec) {
                      if (ec != asio::error::operation_aborted)
                        node_log()->error("VPN: waiting on {}: {}", tun_->name(), ec.message());
                      return;
                    }
                    read_tun();
                  });
}

void Node::Vpn::read_tun() {
  if (stopped_) return;
  Timestamp now = node.now();
  std::size_t n = router_->pump_tun(now);
  node.dataplane_->schedule_flush();
  if (!busy_.empty()) {
    // Resumed by after_flush() once the channel takes datagrams, or after kMaxReadPause.
    if (paused_since_ == 0) paused_since_ = now;
    arm_timer();
    return;
  }
  paused_since_ = 0;
  arm_timer();
  if (n == read_batch_) {
    // More may be waiting: continue on a later turn so sessions and timers get their share.
    later([this] { read_tun(); });
    return;
  }
  wait_readable();
}

tun::MeshPort::SendResult Node::Vpn::send_datagram(const identity::PartialId& peer,
                                                   ByteView packet) {
  Timestamp now = node.now();
  if (auto u = unreachable_until_.find(peer); u != unreachable_until_.end()) {
    if (u->second > now) return {Status::kUnreachable};
    unreachable_until_.erase(u);
  }
  auto it = known_.find(peer);
  if (it == known_.end()) return {Status::kNotReady};
  channel::Channel* ch = node.dataplane_->channels->find(it->second);
  if (!ch || !ch->is_ready()) return {Status::kNotReady};
  std::size_t room = ch->datagram_room();
  if (packet.size() > room) return {Status::kTooBig, room};
  auto r = ch->send_datagram(packet);
  if (r) return {Status::kSent};
  switch (r.error().code) {
    case Errc::kLimit:
      busy_.insert(peer);
      return {Status::kNotReady};
    case Errc::kTooLarge:
      return {Status::kTooBig, ch->datagram_room()};
    default:
      return {Status::kNotReady};
  }
}

channel::Channel* Node::Vpn::open_channel(const identity::NodeId& peer) {
  channel::Channel* ch = node.dataplane_->channels->open(peer, node.now());
  node.dataplane_->schedule_flush();
  return ch;
}

void Node::Vpn::want_peer(const identity::PartialId& peer) {
  if (stopped_) return;
  wanted_.insert(peer);
  if (auto it = known_.find(peer); it != known_.end()) {
    channel::Channel* ch = open_channel(it->second);
    // Ready but refused a datagram: the next flush retries (after_flush). Otherwise
    // on_channel_ready answers.
    if (ch && ch->is_ready()) {
      busy_.insert(peer);
      wanted_.erase(peer);
    }
    return;
  }
  auto prefix = routing::PeerPrefix::of(peer);
  if (auto r = node.router_->want_peer(prefix, node.now()); !r) {
    node_log()->info("VPN: no route search for {}: {}", text_of(peer), r.error().message);
    later([this, peer] { on_unreachable(peer); });
    return;
  }
  // A circuit may already be up (built for `qc connect`, or by the peer towards us).
  std::optional<identity::NodeId> remote;
  node.router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry& e) {
    if (remote || e.state != routing::CircuitState::kEstablished) return;
    const routing::EndpointInfo* info = node.router_->endpoint(h);
    if (info && prefix.matches(info->remote)) remote = info->remote;
  });
  if (remote) {
    known_[peer] = *remote;
    open_channel(*remote);
  }
  node_log()->debug("VPN: packets wait for {}; {}", text_of(peer),
                    remote ? "opening the channel" : "asking for circuits");
  // Routing events (CircuitUp, Unreachable) come back through on_circuit_up / on_unreachable,
  // which post their answers: nothing here calls back into the VpnRouter.
  node.pump();
}

void Node::Vpn::after_flush() {
  if (stopped_ || busy_.empty()) return;
  auto busy = std::exchange(busy_, {});
  Timestamp now = node.now();
  for (const auto& p : busy) router_->on_peer_ready(p, now);  // may mark some busy again
  arm_timer();
  if (busy_.empty()) {
    node.dataplane_->schedule_flush();
    read_tun();
  }
}

void Node::Vpn::arm_timer() {
  if (stopped_) return;
  Timestamp at = router_->next_deadline();
  if (paused_since_ != 0) at = std::min(at, paused_since_ + kMaxReadPause);
  if (at == timer_at_) return;
  timer_at_ = at;
  if (at == kNever) {
    timer_->cancel();
    return;
  }
  Timestamp t = node.now();
  timer_->expires_after(std::chrono::nanoseconds(at > t ? at - t : 0));
  timer_->async_wait([this, alive = alive_](const std::error_code& ec) {
    if (ec || !*alive) return;
    timer_at_ = kNever;
    Timestamp now = node.now();
    router_->on_timeout(now);
    if (paused_since_ != 0 && now >= paused_since_ + kMaxReadPause) {
      // A channel that stays full must not hold up the other peers: its packets wait in (and
      // overflow from) its own queue in the VpnRouter instead.
      node_log()->debug("VPN: a channel took no datagram for {} ms; reading {} again",
                        kMaxReadPause / kMillisecond, tun_->name());
      busy_.clear();
      read_tun();
      return;
    }
    arm_timer();
  });
}

// ---- node events ----

void Node::Vpn::on_circuit_up(const identity::NodeId& remote) {
  if (stopped_) return;
  identity::PartialId p = identity::partial_of(remote);
  known_[p] = remote;
  unreachable_until_.erase(p);
  if (!wanted_.count(p)) return;
  channel::Channel* ch = open_channel(remote);
  if (ch && ch->is_ready()) on_channel_ready(remote);
}

void Node::Vpn::on_unreachable(const identity::PartialId& peer) {
  if (stopped_ || !wanted_.count(peer)) return;
  wanted_.erase(peer);
  unreachable_until_[peer] = node.now() + kUnreachableHold;
  // Stop searching; the next packet after the hold asks again.
  node.router_->unwant_peer(routing::PeerPrefix::of(peer));
  node_log()->info("VPN: {} is unreachable; its waiting packets get ICMPv6 unreachable",
                   text_of(peer));
  later([this, peer] {
    router_->on_peer_unreachable(peer, node.now());
    arm_timer();
  });
}

void Node::Vpn::on_channel_ready(const identity::NodeId& peer) {
  if (stopped_) return;
  identity::PartialId p = identity::partial_of(peer);
  known_[p] = peer;
  wanted_.erase(p);
  unreachable_until_.erase(p);
  if (channel::Channel* ch = node.dataplane_->channels->find(peer)) maybe_raise_mtu(*ch);
  later([this, p] {
    router_->on_peer_ready(p, node.now());
    node.dataplane_->schedule_flush();
    arm_timer();
  });
}

void Node::Vpn::on_channel_closed(const identity::NodeId& peer, const Error& why) {
  if (stopped_) return;
  identity::PartialId p = identity::partial_of(peer);
  bool was_busy = busy_.erase(p) > 0;
  if (router_->queued_for(p) == 0) {
    if (was_busy) later([this] { read_tun(); });
    return;
  }
  // Packets wait for this peer: a channel that could not open for want of a path is an
  // unreachable peer; otherwise (idle, restart, timeout) open a new one.
  bool no_path = why.code == Errc::kUnreachable || why.code == Errc::kTooLarge;
  later([this, p, no_path] {
    if (no_path) {
      wanted_.insert(p);
      on_unreachable(p);
    } else {
      want_peer(p);
    }
    read_tun();
  });
}

void Node::Vpn::on_datagram(const identity::NodeId& peer, ByteView packet) {
  if (stopped_) return;
  router_->on_mesh_datagram(identity::partial_of(peer), packet, node.now());
  // Held packets go to the TUN once the handler that delivers this receive batch is done (and
  // after the sessions' ACKs for it), merged where they continue each other.
  if (router_->tun_pending() && !tun_flush_posted_) {
    tun_flush_posted_ = true;
    later([this] {
      tun_flush_posted_ = false;
      bool refused = router_->counters().tun_gso_refused != 0;
      router_->flush_tun();
      if (!refused && router_->counters().tun_gso_refused != 0)
        node_log()->warn("VPN: {} refused a merged TCP write; writing one packet at a time",
                         tun_->name());
    });
  }
}

void Node::Vpn::maybe_raise_mtu(const channel::Channel& ch) {
  if (node.config_.vpn.mtu != 0) return;  // fixed in the configuration
  std::size_t room = ch.datagram_room();
  auto mtu = tun::tun_mtu_for(room);
  if (!mtu) {
    node_log()->warn("VPN: channel to {}: {}; larger packets to it get ICMPv6 Packet Too Big",
                     identity::text_id(identity::partial_of(ch.peer())), mtu.error().message);
    return;
  }
  if (*mtu <= tun_->mtu()) return;
  if (auto r = tun_->set_mtu(*mtu); !r) {
    node_log()->warn("VPN: raising the MTU of {} to {}: {}", tun_->name(), *mtu, r.error().message);
    return;
  }
  node_log()->info("VPN: {} MTU {} (channel datagram room {} bytes)", tun_->name(), *mtu, room);
}

nlohmann::json Node::Vpn::status() const {
  const tun::VpnCounters& c = router_->counters();
  nlohmann::json peers = nlohmann::json::array();
  for (const auto& [p, id] : known_) {
    nlohmann::json j = {{"peer", text_of(p)},
                        {"queued", router_->queued_for(p)},
                        {"busy", busy_.count(p) > 0},
                        {"wanted", wanted_.count(p) > 0}};
    if (const channel::Channel* ch = node.dataplane_->channels->find(id)) {
      auto s = ch->stats();
      j["channel"] = {{"ready", ch->is_ready()},
                      {"datagram_room", ch->datagram_room()},
                      {"paths", ch->paths().size()},
                      {"healthy_paths", ch->healthy_paths()},
                      {"rtt_ms", static_cast<double>(s.smoothed_rtt) / 1e6},
                      {"cwnd", s.cwnd},
                      {"bytes_in_flight", s.bytes_in_flight},
                      {"datagrams_sent", s.datagrams_sent},
                      {"datagrams_received", s.datagrams_received},
                      {"datagrams_dropped", s.datagrams_dropped},
                      {"packets_dropped", ch->packets_dropped()},
                      {"packet_size", ch->packet_size()}};
      nlohmann::json paths = nlohmann::json::array();
      for (std::size_t i = 0; i < ch->paths().size(); ++i) {
        const channel::ChannelPath& cp = ch->paths()[i];
        paths.push_back({{"path", fmt::format("{}:{}", cp.session, cp.label)},
                         {"current", ch->current_path() == i},
                         {"failed", cp.failed},
                         {"unanswered", cp.unanswered},
                         {"rtt_ms", static_cast<double>(cp.rtt) / 1e6},
                         {"hop_room", cp.hop_room == std::numeric_limits<std::size_t>::max()
                                          ? nlohmann::json(nullptr)
                                          : nlohmann::json(cp.hop_room)},
                         {"packets_sent", cp.packets_sent},
                         {"too_big", cp.too_big}});
      }
      j["channel"]["paths"] = paths;
    }
    peers.push_back(std::move(j));
  }
  return {{"device", tun_->name()},
          {"mtu", tun_->mtu()},
          {"mtu_auto", node.config_.vpn.mtu == 0},
          {"reading", waiting_},
          {"peers", peers},
          {"counters",
           {{"tun_read", c.tun_read},
            {"tun_malformed", c.tun_malformed},
            {"tun_not_cluster", c.tun_not_cluster},
            {"tun_to_self", c.tun_to_self},
            {"mesh_sent", c.mesh_sent},
            {"queued", c.queued},
            {"queue_full", c.queue_full},
            {"too_big", c.too_big},
            {"unreachable", c.unreachable},
            {"queue_expired", c.queue_expired},
            {"icmp_sent", c.icmp_sent},
            {"icmp_suppressed", c.icmp_suppressed},
            {"icmp_rate_limited", c.icmp_rate_limited},
            {"mesh_received", c.mesh_received},
            {"mesh_malformed", c.mesh_malformed},
            {"mesh_spoofed", c.mesh_spoofed},
            {"mesh_filtered", c.mesh_filtered},
            {"mesh_not_for_us", c.mesh_not_for_us},
            {"tun_written", c.tun_written},
            {"tun_gso_writes", c.tun_gso_writes},
            {"tun_gso_segments", c.tun_gso_segments},
            {"tun_gso_refused", c.tun_gso_refused},
            {"tun_held", router_->tun_held()},
            {"tun_write_errors", c.tun_write_errors}}}};
}

}  // namespace qc::daemon
