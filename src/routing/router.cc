// Router: construction, neighbour sessions, timers and the public API. Probe handling is in
// router_probe.cc, circuit handling in router_circuit.cc.
#include "routing/router.h"

#include <algorithm>

namespace qc::routing {

Router::Router(const Config& config, Signer& signer, KeyDirectory& keys, Random& random,
               std::int64_t unix_offset)
    : config_(config),
      signer_(signer),
      keys_(keys),
      random_(random),
      unix_offset_(unix_offset),
      self_(signer.node_id()),
      self_partial_(partial_of(signer.node_id())),
      hash_key_{random.next(), random.next()},
      rate_(config.probe_rate_per_session, config.probe_burst_per_session),
      seen_(config.max_seen_probes),
      probes_(config.max_probe_entries),
      verified_(SipKey{random.next(), random.next()}, config.verified_cache_size),
      circuits_(config.max_circuits),
      cache_(config.max_cached_routes, config.max_cached_per_peer),
      builder_(config_, random) {}

std::uint64_t Router::unix_ms(Timestamp now) const {
  std::int64_t ns = static_cast<std::int64_t>(now) + unix_offset_;
  return ns < 0 ? 0 : static_cast<std::uint64_t>(ns) / kMillisecond;
}

void Router::send(SessionId session, RoutingMessage&& m) {
  if (sessions_.count(session) == 0) return;
  ++stats_.messages_sent;
  outbox_.push_back(Outgoing{session, std::move(m)});
}

const Neighbour* Router::neighbour(SessionId session) const {
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : &it->second;
}

std::optional<SessionId> Router::session_to(const PartialId& peer, InterfaceId iface) const {
  auto it = by_link_.find({peer, iface});
  if (it == by_link_.end()) return std::nullopt;
  return it->second;
}

const EndpointInfo* Router::endpoint(CircuitHandle h) const {
  auto it = endpoints_.find(h);
  return it == endpoints_.end() ? nullptr : &it->second;
}

void Router::on_neighbour_up(SessionId session, const NodeId& peer, InterfaceId iface,
                             Timestamp now) {
  PartialId p = partial_of(peer);
  if (p == self_partial_ || sessions_.count(session) != 0) return;
  // One session per (peer, interface) carries new probes and circuits: the newest. A second
  // session to the same peer on the same interface is the one the link layer kept (a duplicate
  // dial, or the peer restarted) while the older one is closing; the older one keeps its
  // circuits until it goes down.
  Neighbour n;
  n.peer = peer;
  n.partial = p;
  n.iface = iface;
  // The node with the lower partial id allocates from the lower half of the label space.
  const bool lower = self_partial_ < p;
  n.label_lo = lower ? 1 : static_cast<Label>(kMaxLabel / 2 + 1);
  n.label_hi = lower ? static_cast<Label>(kMaxLabel / 2) : kMaxLabel;
  sessions_.emplace(session, n);
  by_link_[{p, iface}] = session;
  if (interfaces_seen_.insert(iface).second) builder_.on_new_interface(now);
  builder_.on_new_neighbour(now);
  reoffer(session, now);
  handle_timeout(now);
}

void Router::on_neighbour_down(SessionId session, Timestamp now) {
  auto it = sessions_.find(session);
  if (it == sessions_.end()) return;
  // Circuits through this session: relays close the other side, endpoints report.
  for (CircuitHandle h : circuits_.on_session(session)) {
    CircuitEntry* e = circuits_.get(h);
    if (!e) continue;
    if (e->role == CircuitRole::kRelay) {
      CircuitSide other = (e->back.session == session) ? e->fwd : e->back;
      RoutingMessage m;
      m.mutable_circuit_close()->set_label(other.label);
      m.mutable_circuit_close()->set_reason(CircuitClose::LINK_DOWN);
      send(other.session, std::move(m));
      circuits_.remove(h);
      ++stats_.circuits_closed;
    } else {
      endpoint_down(h, CloseReason::kLinkDown, now);
    }
  }
  for (const Settled& s : probes_.settle_session(session)) on_settled(s, now);
  std::erase_if(parked_, [&](const auto& kv) { return kv.second.session == session; });
  std::erase_if(held_, [&](const auto& kv) { return kv.second.session == session; });
  rate_.remove(session);
  circuits_.forget_session(session);
  const std::pair<PartialId, InterfaceId> link{it->second.partial, it->second.iface};
  sessions_.erase(it);
  if (auto bl = by_link_.find(link); bl != by_link_.end() && bl->second == session) {
    by_link_.erase(bl);
    // Another session to the same peer on this interface takes over.
    std::optional<SessionId> next;
    for (const auto& [sid, n] : sessions_)
      if (n.partial == link.first && n.iface == link.second && (!next || sid > *next)) next = sid;
    if (next) {
      by_link_[link] = *next;
      reoffer(*next, now);
    }
  }
}

void Router::on_message(SessionId session, const RoutingMessage& message, Timestamp now) {
  if (sessions_.count(session) == 0) {
    ++stats_.drop_malformed;
    return;
  }
  switch (message.body_case()) {
    case RoutingMessage::kProbe:
      handle_probe(session, message.probe(), now, true);
      break;
    case RoutingMessage::kProbeResult:
      handle_result(session, message.probe_result(), now);
      break;
    case RoutingMessage::kPeerQuery:
      handle_query(session, message.peer_query());
      break;
    case RoutingMessage::kPeerAnswer:
      handle_answer(session, message.peer_answer(), now);
      break;
    case RoutingMessage::kCircuitInit:
      handle_init(session, message.circuit_init(), now, true);
      break;
    case RoutingMessage::kCircuitEstablished:
      handle_established(session, message.circuit_established(), now);
      break;
    case RoutingMessage::kCircuitClose:
      handle_close(session, message.circuit_close(), now);
      break;
    default:
      ++stats_.drop_malformed;
      break;
  }
}

Result<void> Router::want_peer(const PeerPrefix& peer, Timestamp now, std::uint32_t count) {
  QC_TRY(builder_.want(peer, count, now));
  handle_timeout(now);
  return Ok();
}

Result<std::uint64_t> Router::build_circuit(const PeerPrefix& peer, Timestamp now) {
  if (!peer.valid()) return Err(Errc::kInvalidArgument, "peer prefix must be 10..32 bytes");
  const std::uint64_t now_ms = unix_ms(now);
  const std::uint64_t age_ms = config_.route_max_age / kMillisecond;
  if (auto c = cache_.best(peer, now_ms > age_ms ? now_ms - age_ms : 0)) {
    if (try_cached(*c, now)) return std::uint64_t{0};
  }
  return send_probe(peer, now);
}

bool Router::touch(SessionId session, Label label, Timestamp now) {
  auto h = circuits_.lookup(session, label);
  if (!h) return false;
  CircuitEntry* e = circuits_.get(*h);
  if (!e || e->state != CircuitState::kEstablished) return false;
  e->expiry = now + config_.established_expiry;
  return true;
}

bool Router::poll_transmit(Outgoing& out) {
  if (outbox_.empty()) return false;
  out = std::move(outbox_.front());
  outbox_.pop_front();
  return true;
}

std::optional<Event> Router::poll_event() {
  if (events_.empty()) return std::nullopt;
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

Timestamp Router::next_deadline() const {
  return std::min(timers_.next(), builder_.next_deadline());
}

void Router::handle_timeout(Timestamp now) {
  Timer t{};
  while (timers_.pop_due(now, t)) on_timer(t, now);
  for (const PeerPrefix& p : builder_.due(now)) start_build(p, now);
}

void Router::start_build(const PeerPrefix& peer, Timestamp now) {
  const std::vector<PartialId> avoid = builder_.avoid_for(peer);
  if (avoid.empty()) {
    auto nonce = build_circuit(peer, now);
    if (nonce && *nonce != 0) builder_.on_probe_sent(peer, *nonce, false);
  } else {
    auto nonce = send_probe(peer, now, avoid);
    if (nonce) builder_.on_probe_sent(peer, *nonce, true);
  }
}

void Router::on_timer(const Timer& t, Timestamp now) {
  switch (t.kind) {
    case TimerKind::kSeen: {
      Timestamp later = seen_.expire(t.key, now);
      if (later != kNever) {
        timers_.push(later, TimerKind::kSeen, t.key);
      } else {
        answered_relays_.erase(t.key);
      }
      break;
    }
    case TimerKind::kProbeEntry: {
      const auto id = static_cast<std::uint32_t>(t.key);
      if (auto s = probes_.expire(id, now)) {
        on_settled(*s, now);
      } else if (const ProbeEntry* e = probes_.find(id)) {
        timers_.push(e->expiry, TimerKind::kProbeEntry, id);
      }
      break;
    }
    case TimerKind::kCircuit:
      circuit_timeout(static_cast<CircuitHandle>(t.key), now);
      break;
    case TimerKind::kParked:
      parked_timeout(static_cast<std::uint32_t>(t.key));
      break;
    case TimerKind::kHold:
      hold_timeout(t.key, now);
      break;
  }
}

}  // namespace qc::routing
