// Router: circuit setup (CircuitInit / CircuitEstablished / CircuitClose), expiry, the route
// cache and held candidates.
#include <algorithm>

#include "routing/router.h"

namespace qc::routing {

namespace {
CloseReason reason_of(CircuitClose::Reason r) {
  switch (r) {
    case CircuitClose::NO_ROUTE:
      return CloseReason::kNoRoute;
    case CircuitClose::REJECTED:
      return CloseReason::kRejected;
    case CircuitClose::LINK_DOWN:
      return CloseReason::kLinkDown;
    default:
      return CloseReason::kClosed;
  }
}
}  // namespace

std::vector<PartialId> Router::relays_of(const Route& route) {
  std::vector<PartialId> all = route_partials(route);
  if (!all.empty()) all.erase(all.begin());  // hops[0] is the originator
  return all;
}

std::size_t Router::circuits_with(const NodeId& remote) const {
  std::size_t n = 0;
  for (const auto& [h, info] : endpoints_)
    if (info.remote == remote) ++n;
  return n;
}

void Router::reject_init(SessionId s, Label label, CircuitClose::Reason reason) {
  ++stats_.circuits_rejected;
  if (label == 0) return;
  RoutingMessage m;
  m.mutable_circuit_close()->set_label(label);
  m.mutable_circuit_close()->set_reason(reason);
  send(s, std::move(m));
}

void Router::answer_as_destination(SessionId s, const Route& route, Timestamp now) {
  const Neighbour* nb = neighbour(s);
  NodeId originator{};
  if (!nb || !load_id(route.originator(), originator)) return;
  RouteEstablish est;
  *est.mutable_route() = route;
  est.set_destination_id(id_bytes(self_));
  est.set_backward_interface(nb->iface);
  est.set_timestamp_ms(unix_ms(now));
  Bytes sig = signer_.sign(establish_signed_bytes(est));
  if (sig.empty()) return;
  est.set_signature(std::string(sig.begin(), sig.end()));
  cache_.put(originator, est, /*we_originated=*/false);

  auto label = circuits_.allocate_label(s, nb->label_lo, nb->label_hi);
  if (!label) {
    ++stats_.drop_table_full;
    return;
  }
  CircuitEntry e;
  e.id = random_.next();
  e.role = CircuitRole::kDestination;
  e.back = CircuitSide{s, *label};
  e.state = CircuitState::kPending;
  e.expiry = now + config_.pending_expiry;
  e.init_toward_destination = false;
  auto h = circuits_.add(e);
  if (!h) {
    ++stats_.drop_table_full;
    return;
  }
  endpoints_[*h] = EndpointInfo{originator, est};
  timers_.push(e.expiry, TimerKind::kCircuit, *h);
  RoutingMessage m;
  CircuitInit* init = m.mutable_circuit_init();
  init->set_circuit_id(e.id);
  init->set_label(*label);
  *init->mutable_establish() = std::move(est);
  init->set_toward_destination(false);
  send(s, std::move(m));
}

void Router::handle_init(SessionId s, const CircuitInit& init, Timestamp now, bool first_time) {
  const Neighbour* nb = neighbour(s);
  if (!nb) return;
  if (first_time) ++stats_.circuit_inits_received;
  const RouteEstablish& est = init.establish();
  const Route& r = est.route();
  if (init.label() == 0 || init.label() > kMaxLabel) {
    ++stats_.drop_malformed;
    return;
  }
  const auto label = static_cast<Label>(init.label());
  auto reject = [&](std::uint64_t& counter, CircuitClose::Reason reason = CircuitClose::REJECTED) {
    ++counter;
    reject_init(s, label, reason);
  };
  // The sender picks labels from its own half of the space: the one that is not ours.
  if (label >= nb->label_lo && label <= nb->label_hi) return reject(stats_.drop_malformed);
  if (circuits_.lookup(s, label)) {
    ++stats_.circuit_msgs_unmatched;  // a repeated CircuitInit; the first one stands
    return;
  }
  if (!init.has_establish() || !est.has_route() || !check_route_structure(r, config_.max_hops))
    return reject(stats_.drop_malformed);
  NodeId dest_id{};
  if (!load_id(est.destination_id(), dest_id) || est.signature().empty() ||
      est.signature().size() > kMaxSignatureSize)
    return reject(stats_.drop_malformed);
  const PartialId dest_partial = partial_of(dest_id);
  const int n = r.hops_size();
  if (!PeerPrefix{{r.destination().begin(), r.destination().end()}}.matches(dest_id) ||
      r.hops(n - 1).next_partial_id() != id_bytes(dest_partial))
    return reject(stats_.drop_malformed);
  const std::uint64_t now_ms = unix_ms(now);
  const std::uint64_t skew_ms = config_.max_clock_skew / kMillisecond;
  if (est.timestamp_ms() > now_ms + skew_ms ||
      est.timestamp_ms() + config_.route_max_age / kMillisecond < now_ms)
    return reject(stats_.drop_expired);

  // Where are we on the route? i == n: the destination.
  const std::vector<PartialId> path = route_partials(r);
  int i = -1;
  if (dest_id == self_) {
    i = n;
  } else {
    auto it = std::find(path.begin(), path.end(), self_partial_);
    if (it != path.end()) i = static_cast<int>(it - path.begin());
  }
  if (i < 0) return reject(stats_.drop_bad_link);
  const bool toward_dest = init.toward_destination();
  auto partial_at = [&](int k) {
    return k == n ? dest_partial : path[static_cast<std::size_t>(k)];
  };
  // The sender must be our neighbour on the route, on the interface the route names.
  if (!toward_dest) {
    if (i >= n || nb->partial != partial_at(i + 1) || nb->iface != r.hops(i).forward_interface())
      return reject(stats_.drop_bad_link);
  } else {
    const InterfaceId back_if = i == n ? est.backward_interface() : r.hops(i).backward_interface();
    if (i == 0 || nb->partial != partial_at(i - 1) || nb->iface != back_if)
      return reject(stats_.drop_bad_link);
  }

  // Signatures: the destination's over everything, and our own hop.
  const Verifier* dv = keys_.find(dest_partial);
  if (!dv) {
    if (!first_time) return reject(stats_.drop_unknown_key);
    RoutingMessage m;
    *m.mutable_circuit_init() = init;
    if (!park(s, m, {dest_partial}, now)) reject(stats_.drop_table_full);
    return;
  }
  if (dv->node_id() != dest_id ||
      !dv->verify(establish_signed_bytes(est),
                  ByteView(reinterpret_cast<const std::uint8_t*>(est.signature().data()),
                           est.signature().size())))
    return reject(stats_.drop_bad_signature);
  if (i < n) {
    const Verifier* mine = keys_.find(self_partial_);
    if (!mine || !verify_hop(r, i, *mine)) return reject(stats_.drop_bad_signature);
  }

  if (i == 0) {
    NodeId originator{};
    if (!load_id(r.originator(), originator) || originator != self_)
      return reject(stats_.drop_bad_link);
    return consider_at_originator(s, init, dest_id, now);
  }
  if (i == n) {
    NodeId originator{};
    if (!load_id(r.originator(), originator)) return reject(stats_.drop_malformed);
    if (!builder_.find(originator) && circuits_with(originator) >= config_.max_incoming_per_peer)
      return reject_init(s, label, CircuitClose::REJECTED);
    return accept_at_endpoint(s, init, CircuitRole::kDestination, originator, now);
  }

  // A relay: pass the CircuitInit on to the next node on the route.
  const PartialId next = toward_dest ? partial_at(i + 1) : partial_at(i - 1);
  const InterfaceId out_if =
      toward_dest ? r.hops(i).forward_interface() : r.hops(i).backward_interface();
  auto t = session_to(next, out_if);
  if (!t) return reject(stats_.circuit_msgs_unmatched, CircuitClose::NO_ROUTE);
  const Neighbour* tn = neighbour(*t);
  auto out_label = circuits_.allocate_label(*t, tn->label_lo, tn->label_hi);
  if (!out_label) return reject(stats_.drop_table_full);
  CircuitEntry e;
  e.id = init.circuit_id();
  e.role = CircuitRole::kRelay;
  e.state = CircuitState::kPending;
  e.expiry = now + config_.pending_expiry;
  e.init_toward_destination = toward_dest;
  if (toward_dest) {
    e.back = CircuitSide{s, label};
    e.fwd = CircuitSide{*t, *out_label};
  } else {
    e.fwd = CircuitSide{s, label};
    e.back = CircuitSide{*t, *out_label};
  }
  auto h = circuits_.add(e);
  if (!h) return reject(stats_.drop_table_full);
  timers_.push(e.expiry, TimerKind::kCircuit, *h);
  ++stats_.circuits_relayed;
  RoutingMessage m;
  *m.mutable_circuit_init() = init;
  m.mutable_circuit_init()->set_label(*out_label);
  send(*t, std::move(m));
}

void Router::consider_at_originator(SessionId s, const CircuitInit& init, const NodeId& remote,
                                    Timestamp now) {
  const std::vector<PartialId> relays = relays_of(init.establish().route());
  if (!builder_.find(remote)) {
    if (circuits_with(remote) >= config_.max_incoming_per_peer)
      return reject_init(s, static_cast<Label>(init.label()), CircuitClose::REJECTED);
    return accept_at_endpoint(s, init, CircuitRole::kOriginator, remote, now);
  }
  switch (builder_.consider(remote, relays, false)) {
    case CircuitBuilder::Decision::kAccept:
      return accept_at_endpoint(s, init, CircuitRole::kOriginator, remote, now);
    case CircuitBuilder::Decision::kReject:
      return reject_init(s, static_cast<Label>(init.label()), CircuitClose::REJECTED);
    case CircuitBuilder::Decision::kHold: {
      if (held_.size() >= config_.max_parked)
        return reject_init(s, static_cast<Label>(init.label()), CircuitClose::REJECTED);
      const std::uint64_t id = next_held_++;
      held_.emplace(id, Held{s, init, remote});
      timers_.push(now + config_.candidate_hold, TimerKind::kHold, id);
      return;
    }
  }
}

void Router::hold_timeout(std::uint64_t id, Timestamp now) {
  auto it = held_.find(id);
  if (it == held_.end()) return;
  Held h = std::move(it->second);
  held_.erase(it);
  if (!neighbour(h.session)) return;
  if (circuits_.lookup(h.session, static_cast<Label>(h.init.label()))) return;
  const std::vector<PartialId> relays = relays_of(h.init.establish().route());
  if (builder_.consider(h.remote, relays, true) == CircuitBuilder::Decision::kAccept) {
    accept_at_endpoint(h.session, h.init, CircuitRole::kOriginator, h.remote, now);
  } else {
    reject_init(h.session, static_cast<Label>(h.init.label()), CircuitClose::REJECTED);
  }
}

void Router::accept_at_endpoint(SessionId s, const CircuitInit& init, CircuitRole role,
                                const NodeId& remote, Timestamp now) {
  const auto label = static_cast<Label>(init.label());
  CircuitEntry e;
  e.id = init.circuit_id();
  e.role = role;
  e.state = CircuitState::kEstablished;
  e.expiry = now + config_.established_expiry;
  e.init_toward_destination = init.toward_destination();
  if (role == CircuitRole::kOriginator) {
    e.fwd = CircuitSide{s, label};
  } else {
    e.back = CircuitSide{s, label};
  }
  auto h = circuits_.add(e);
  if (!h) {
    ++stats_.drop_table_full;
    return reject_init(s, label, CircuitClose::REJECTED);
  }
  endpoints_[*h] = EndpointInfo{remote, init.establish()};
  timers_.push(e.expiry, TimerKind::kCircuit, *h);
  RoutingMessage m;
  m.mutable_circuit_established()->set_label(label);
  m.mutable_circuit_established()->set_circuit_id(e.id);
  send(s, std::move(m));
  if (role == CircuitRole::kOriginator) cache_.put(remote, init.establish(), true);
  ++stats_.circuits_established;
  builder_.on_up(remote, e.id, relays_of(init.establish().route()));
  emit(CircuitUp{e.id, remote, role == CircuitRole::kOriginator, s, label, init.establish()});
}

void Router::handle_established(SessionId s, const CircuitEstablished& m, Timestamp now) {
  if (m.label() == 0 || m.label() > kMaxLabel) {
    ++stats_.drop_malformed;
    return;
  }
  auto h = circuits_.lookup(s, static_cast<Label>(m.label()));
  CircuitEntry* e = h ? circuits_.get(*h) : nullptr;
  if (!e || e->state == CircuitState::kEstablished) {
    ++stats_.circuit_msgs_unmatched;
    return;
  }
  // CircuitEstablished comes back on the side the CircuitInit went out on.
  const CircuitSide out = e->init_toward_destination ? e->fwd : e->back;
  if (!(out.session == s && out.label == m.label())) {
    ++stats_.circuit_msgs_unmatched;
    return;
  }
  e->state = CircuitState::kEstablished;
  e->expiry = now + config_.established_expiry;
  timers_.push(e->expiry, TimerKind::kCircuit, *h);
  if (e->role == CircuitRole::kRelay) {
    const CircuitSide other = e->init_toward_destination ? e->back : e->fwd;
    RoutingMessage fwd;
    fwd.mutable_circuit_established()->set_label(other.label);
    fwd.mutable_circuit_established()->set_circuit_id(e->id);
    send(other.session, std::move(fwd));
    return;
  }
  auto info = endpoints_.find(*h);
  if (info == endpoints_.end()) return;
  ++stats_.circuits_established;
  builder_.on_up(info->second.remote, e->id, relays_of(info->second.route.route()));
  emit(CircuitUp{e->id, info->second.remote, e->role == CircuitRole::kOriginator, s, out.label,
                 info->second.route});
}

void Router::handle_close(SessionId s, const CircuitClose& m, Timestamp now) {
  if (m.label() == 0 || m.label() > kMaxLabel) {
    ++stats_.drop_malformed;
    return;
  }
  auto h = circuits_.lookup(s, static_cast<Label>(m.label()));
  CircuitEntry* e = h ? circuits_.get(*h) : nullptr;
  if (!e) {
    ++stats_.circuit_msgs_unmatched;
    return;
  }
  if (e->role == CircuitRole::kRelay) {
    const CircuitSide other =
        (e->back.session == s && e->back.label == m.label()) ? e->fwd : e->back;
    RoutingMessage fwd;
    fwd.mutable_circuit_close()->set_label(other.label);
    fwd.mutable_circuit_close()->set_reason(m.reason());
    send(other.session, std::move(fwd));
    circuits_.remove(*h);
    ++stats_.circuits_closed;
    return;
  }
  endpoint_down(*h, reason_of(m.reason()), now);
}

void Router::endpoint_down(CircuitHandle h, CloseReason reason, Timestamp now) {
  CircuitEntry* e = circuits_.get(h);
  if (!e) return;
  const CircuitEntry copy = *e;
  EndpointInfo info;
  if (auto it = endpoints_.find(h); it != endpoints_.end()) {
    info = std::move(it->second);
    endpoints_.erase(it);
  }
  circuits_.remove(h);
  if (reason == CloseReason::kExpired) {
    ++stats_.circuits_expired;
  } else {
    ++stats_.circuits_closed;
  }
  if (copy.state == CircuitState::kEstablished) {
    builder_.on_down(info.remote, copy.id, now);
    const CircuitSide side = copy.fwd.present() ? copy.fwd : copy.back;
    emit(
        CircuitDown{copy.id, info.remote, reason, side.session, side.label, std::move(info.route)});
  } else if (copy.from_cache) {
    // A try from the cache failed: forget that route and flood instead.
    cache_.evict(info.remote, info.route.signature());
    (void)send_probe(PeerPrefix::of(info.remote), now);
  }
}

Result<void> Router::close_circuit(SessionId session, Label label, Timestamp now) {
  auto h = circuits_.lookup(session, label);
  CircuitEntry* e = h ? circuits_.get(*h) : nullptr;
  if (!e || e->role == CircuitRole::kRelay) return Err(Errc::kNotFound, "no such circuit endpoint");
  RoutingMessage m;
  m.mutable_circuit_close()->set_label(label);
  m.mutable_circuit_close()->set_reason(CircuitClose::CLOSED);
  send(session, std::move(m));
  endpoint_down(*h, CloseReason::kClosed, now);
  return Ok();
}

void Router::circuit_timeout(CircuitHandle h, Timestamp now) {
  CircuitEntry* e = circuits_.get(h);
  if (!e) return;
  if (e->expiry > now) {
    timers_.push(e->expiry, TimerKind::kCircuit, h);
    return;
  }
  // Expiry is local: every hop times out on its own (no message is sent, see docs/routing.md).
  if (e->role == CircuitRole::kRelay) {
    circuits_.remove(h);
    ++stats_.circuits_expired;
    return;
  }
  endpoint_down(h, CloseReason::kExpired, now);
}

bool Router::try_cached(const CachedRoute& c, Timestamp now) {
  const Route& r = c.establish.route();
  const int n = r.hops_size();
  if (n < 1) return false;
  PartialId next{};
  InterfaceId out_if = 0;
  RouteEstablish est = c.establish;
  if (c.we_originated) {
    if (n == 1) {
      next = partial_of(c.remote);
    } else if (!load_id(r.hops(1).partial_id(), next)) {
      return false;
    }
    out_if = r.hops(0).forward_interface();
  } else {
    if (!load_id(r.hops(n - 1).partial_id(), next)) return false;
    out_if = est.backward_interface();
    // Re-sign with a fresh timestamp, so the route's age restarts.
    est.set_timestamp_ms(unix_ms(now));
    est.clear_signature();
    Bytes sig = signer_.sign(establish_signed_bytes(est));
    if (sig.empty()) return false;
    est.set_signature(std::string(sig.begin(), sig.end()));
  }
  auto t = session_to(next, out_if);
  if (!t) {
    cache_.evict(c.remote, c.establish.signature());
    return false;
  }
  const Neighbour* tn = neighbour(*t);
  auto label = circuits_.allocate_label(*t, tn->label_lo, tn->label_hi);
  if (!label) return false;
  CircuitEntry e;
  e.id = random_.next();
  e.state = CircuitState::kPending;
  e.expiry = now + config_.cached_attempt_expiry;
  e.from_cache = true;
  e.init_toward_destination = c.we_originated;
  if (c.we_originated) {
    e.role = CircuitRole::kOriginator;
    e.fwd = CircuitSide{*t, *label};
  } else {
    e.role = CircuitRole::kDestination;
    e.back = CircuitSide{*t, *label};
  }
  auto h = circuits_.add(e);
  if (!h) return false;
  if (!c.we_originated) {
    cache_.evict(c.remote, c.establish.signature());
    cache_.put(c.remote, est, false);
  }
  endpoints_[*h] = EndpointInfo{c.remote, est};
  timers_.push(e.expiry, TimerKind::kCircuit, *h);
  ++stats_.cache_attempts;
  RoutingMessage m;
  CircuitInit* init = m.mutable_circuit_init();
  init->set_circuit_id(e.id);
  init->set_label(*label);
  *init->mutable_establish() = std::move(est);
  init->set_toward_destination(c.we_originated);
  send(*t, std::move(m));
  return true;
}

}  // namespace qc::routing
