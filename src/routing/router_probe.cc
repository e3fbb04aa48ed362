// Router: route probes, dead-end aggregation, PeerQuery, re-offer of recent probes.
#include <algorithm>

#include "routing/router.h"

namespace qc::routing {

namespace {
constexpr std::size_t kMaxQueryIds = 64;  // partial ids per PeerQuery / PeerAnswer
}  // namespace

Timestamp Router::local_expiry(const Route& route, Timestamp now) const {
  const std::uint64_t now_ms = unix_ms(now);
  const std::uint64_t left_ms = route.expiry_ms() > now_ms ? route.expiry_ms() - now_ms : 0;
  const Duration cap = config_.probe_lifetime + config_.max_clock_skew;
  return now + std::min<Duration>(left_ms * kMillisecond, cap);
}

void Router::answer_probe(SessionId s, std::uint32_t tag, ProbeResult::Kind kind) {
  RoutingMessage m;
  m.mutable_probe_result()->set_tag(tag);
  m.mutable_probe_result()->set_kind(kind);
  if (kind != ProbeResult::REACHED) ++stats_.dead_ends_sent;
  send(s, std::move(m));
}

void Router::handle_probe(SessionId s, const RouteProbe& p, Timestamp now, bool first_time) {
  const Neighbour* nb = neighbour(s);
  if (!nb) return;
  const std::uint32_t tag = p.tag();
  auto drop = [&](std::uint64_t& counter, ProbeResult::Kind kind = ProbeResult::DEAD_END) {
    ++counter;
    answer_probe(s, tag, kind);
  };
  if (first_time) {
    ++stats_.probes_received;
    if (!rate_.allow(s, now)) return drop(stats_.drop_rate_limited);
  }
  const Route& r = p.route();
  if (!p.has_route()) return drop(stats_.drop_malformed);
  if (auto ok = check_route_structure(r, config_.max_hops); !ok) {
    return drop(ok.error().code == Errc::kTooLarge ? stats_.drop_hop_limit : stats_.drop_malformed);
  }
  const std::uint64_t now_ms = unix_ms(now);
  if (r.expiry_ms() < now_ms) return drop(stats_.drop_expired);
  const std::uint64_t horizon_ms =
      now_ms + (config_.probe_lifetime + config_.max_clock_skew) / kMillisecond;
  if (r.expiry_ms() > horizon_ms) return drop(stats_.drop_malformed);
  // The copy must come from the neighbour that signed the last hop, addressed to us.
  const Hop& last = r.hops(r.hops_size() - 1);
  if (last.partial_id() != id_bytes(nb->partial) ||
      last.next_partial_id() != id_bytes(self_partial_))
    return drop(stats_.drop_bad_link);
  const std::vector<PartialId> path = route_partials(r);
  if (std::find(path.begin(), path.end(), self_partial_) != path.end())
    return drop(stats_.drop_contains_us);
  for (const std::string& a : r.avoid())
    if (a == id_bytes(self_partial_)) return drop(stats_.drop_avoided);
  const PeerPrefix dest{{r.destination().begin(), r.destination().end()}};
  const bool at_destination = dest.matches(self_);
  // Forwarding would add a hop past the limit.
  if (!at_destination && r.hops_size() >= static_cast<int>(config_.max_hops))
    return drop(stats_.drop_hop_limit);
  const std::uint64_t pid = probe_id_hash(hash_key_, r);
  const std::uint64_t ch = copy_hash(hash_key_, r);
  const std::uint32_t limit =
      at_destination ? config_.circuits_per_probe : config_.max_copies_per_probe;
  SeenEntry* seen = seen_.find(pid);
  if (seen && (seen->has_copy(ch) || seen->accepted >= limit))
    return drop(stats_.drop_duplicate, ProbeResult::DUPLICATE);
  // The destination answers the first copy (the fastest path), then only copies whose relays
  // are disjoint from those already answered, so the circuits do not share a relay.
  if (at_destination && seen && config_.destination_prefers_disjoint) {
    auto it = answered_relays_.find(pid);
    if (it != answered_relays_.end()) {
      for (int i = 1; i < r.hops_size(); ++i) {
        PartialId relay{};
        (void)load_id(r.hops(i).partial_id(), relay);
        if (std::find(it->second.begin(), it->second.end(), relay) != it->second.end())
          return drop(stats_.drop_not_disjoint, ProbeResult::DUPLICATE);
      }
    }
  }

  std::vector<PartialId> unknown;
  switch (verify_route(r, keys_, &verified_, &unknown)) {
    case VerifyOutcome::kOk:
      break;
    case VerifyOutcome::kUnknownKey: {
      if (!first_time) return drop(stats_.drop_unknown_key);
      RoutingMessage m;
      *m.mutable_probe() = p;
      if (!park(s, m, unknown, now)) return drop(stats_.drop_table_full);
      return;
    }
    case VerifyOutcome::kBadSignature:
      return drop(stats_.drop_bad_signature);
  }

  const Timestamp expiry = local_expiry(r, now);
  if (!seen) {
    seen = seen_.insert(pid, expiry);
    if (!seen) return drop(stats_.drop_table_full);
    timers_.push(expiry, TimerKind::kSeen, pid);
  }
  seen->add_copy(ch);
  ++seen->accepted;

  if (at_destination) {
    ++stats_.probes_reached;
    auto& relays = answered_relays_[pid];
    for (int i = 1; i < r.hops_size(); ++i) {
      PartialId relay{};
      (void)load_id(r.hops(i).partial_id(), relay);
      relays.push_back(relay);
    }
    answer_as_destination(s, r, now);
    answer_probe(s, tag, ProbeResult::REACHED);
    return;
  }
  // Kept even when it goes nowhere now: a neighbour that appears later gets it.
  remember(s, false, r, std::min(expiry, now + config_.recent_probe_window));
  const std::vector<SessionId> targets = probe_targets(r);
  ProbeEntry e;
  e.upstream = s;
  e.upstream_tag = tag;
  e.has_upstream = true;
  e.nonce = r.nonce();
  e.expiry = expiry;
  if (targets.empty() || !fan_out(r, targets, nb->iface, e, now)) {
    return drop(targets.empty() ? stats_.drop_no_next_hop : stats_.drop_table_full);
  }
}

std::vector<SessionId> Router::probe_targets(const Route& route) const {
  const std::vector<PartialId> path = route_partials(route);
  const PeerPrefix dest{{route.destination().begin(), route.destination().end()}};
  std::vector<SessionId> all, direct;
  for (const auto& [sid, n] : sessions_) {
    if (session_to(n.partial, n.iface) != sid) continue;  // an older session being replaced
    if (std::find(path.begin(), path.end(), n.partial) != path.end()) continue;
    bool avoided = false;
    for (const std::string& a : route.avoid()) avoided |= a == id_bytes(n.partial);
    if (avoided) continue;
    all.push_back(sid);
    if (dest.matches(n.peer)) direct.push_back(sid);
  }
  std::vector<SessionId>& out = (config_.direct_to_destination && !direct.empty()) ? direct : all;
  std::sort(out.begin(), out.end());  // deterministic order
  return out;
}

std::optional<std::uint32_t> Router::fan_out(const Route& route,
                                             const std::vector<SessionId>& targets,
                                             InterfaceId backward_if, const ProbeEntry& entry,
                                             Timestamp now) {
  auto id = probes_.add(entry);
  if (!id) return std::nullopt;
  timers_.push(entry.expiry, TimerKind::kProbeEntry, *id);
  std::size_t sent = 0;
  for (SessionId t : targets) {
    const Neighbour* n = neighbour(t);
    if (!n) continue;
    RoutingMessage m;
    RouteProbe* out = m.mutable_probe();
    *out->mutable_route() = route;
    HopFields f;
    f.partial = self_partial_;
    f.backward_interface = backward_if;
    f.forward_interface = n->iface;
    f.timestamp_ms = unix_ms(now);
    f.next = n->partial;
    if (!append_signed_hop(*out->mutable_route(), f, signer_)) continue;
    out->set_tag(probes_.add_child(*id, t));
    ++stats_.probes_forwarded;
    ++sent;
    send(t, std::move(m));
  }
  if (sent == 0) {
    probes_.remove(*id);
    return std::nullopt;
  }
  return id;
}

void Router::handle_result(SessionId s, const ProbeResult& r, Timestamp now) {
  ++stats_.results_received;
  auto settled = probes_.settle(r.tag(), s, r.kind() == ProbeResult::REACHED);
  if (!settled) {
    ++stats_.results_unmatched;
    return;
  }
  on_settled(*settled, now);
}

void Router::on_settled(const Settled& st, Timestamp now) {
  if (st.send_reached) answer_probe(st.entry.upstream, st.entry.upstream_tag, ProbeResult::REACHED);
  if (st.send_dead_end)
    answer_probe(st.entry.upstream, st.entry.upstream_tag, ProbeResult::DEAD_END);
  if (st.complete && !st.entry.has_upstream) {
    auto it = originated_.find(st.entry_id);
    if (it != originated_.end()) {
      if (!st.entry.reached) {
        ++stats_.unreachable_reported;
        emit(Unreachable{it->second.peer, st.entry.nonce});
      }
      emit(ProbeDone{it->second.peer, st.entry.nonce, st.entry.reached, now - it->second.sent});
      originated_.erase(it);
      builder_.on_probe_done(st.entry.nonce, st.entry.reached, now);
    }
  }
}

Result<std::uint64_t> Router::send_probe(const PeerPrefix& peer, Timestamp now,
                                         const std::vector<PartialId>& avoid) {
  if (!peer.valid()) return Err(Errc::kInvalidArgument, "peer prefix must be 10..32 bytes");
  if (avoid.size() > kMaxAvoid) return Err(Errc::kInvalidArgument, "avoid list over 16 ids");
  Route r;
  r.set_originator(id_bytes(self_));
  std::uint64_t nonce = random_.next();
  if (nonce == 0) nonce = 1;
  r.set_nonce(nonce);
  r.set_destination(std::string(peer.bytes.begin(), peer.bytes.end()));
  r.set_expiry_ms(unix_ms(now) + config_.probe_lifetime / kMillisecond);
  for (const PartialId& a : avoid) r.add_avoid(id_bytes(a));
  ++stats_.probes_originated;
  const std::vector<SessionId> targets = probe_targets(r);
  ProbeEntry e;
  e.has_upstream = false;
  e.nonce = nonce;
  e.expiry = now + config_.probe_lifetime;
  std::optional<std::uint32_t> id;
  if (!targets.empty()) id = fan_out(r, targets, 0, e, now);
  if (!id) {
    ++stats_.unreachable_reported;
    emit(Unreachable{peer, nonce});
    return nonce;
  }
  originated_[*id] = Originated{peer, now};
  remember(0, true, r, now + std::min(config_.recent_probe_window, config_.probe_lifetime));
  return nonce;
}

void Router::remember(SessionId from, bool own, const Route& route, Timestamp expiry) {
  while (!recent_.empty() && recent_.size() >= config_.max_recent_probes) recent_.pop_front();
  if (config_.max_recent_probes == 0) return;
  recent_.push_back(Recent{expiry, from, own, route});
}

void Router::reoffer(SessionId s, Timestamp now) {
  const Neighbour* n = neighbour(s);
  if (!n) return;
  while (!recent_.empty() && recent_.front().expiry <= now) recent_.pop_front();
  for (const Recent& rc : recent_) {
    if (rc.expiry <= now) continue;
    InterfaceId back = 0;
    if (!rc.own) {
      const Neighbour* from = neighbour(rc.from);
      if (!from) continue;  // the reverse path is gone
      back = from->iface;
    }
    const std::vector<PartialId> path = route_partials(rc.route);
    if (std::find(path.begin(), path.end(), n->partial) != path.end()) continue;
    ProbeEntry e;
    e.has_upstream = false;
    e.nonce = rc.route.nonce();
    e.expiry = rc.expiry;
    if (fan_out(rc.route, {s}, back, e, now)) ++stats_.probes_reoffered;
  }
}

bool Router::park(SessionId s, const RoutingMessage& m, const std::vector<PartialId>& unknown,
                  Timestamp now) {
  if (parked_.size() >= config_.max_parked) return false;
  std::uint32_t id = next_query_++;
  if (id == 0) id = next_query_++;
  Parked pk{s, m, {}};
  RoutingMessage q;
  PeerQuery* pq = q.mutable_peer_query();
  pq->set_query_id(id);
  for (const PartialId& p : unknown) {
    if (pk.asked.size() >= kMaxQueryIds) break;
    if (std::find(pk.asked.begin(), pk.asked.end(), p) != pk.asked.end()) continue;
    pk.asked.push_back(p);
    pq->add_partial_ids(id_bytes(p));
  }
  parked_.emplace(id, std::move(pk));
  timers_.push(now + config_.peer_query_timeout, TimerKind::kParked, id);
  ++stats_.peer_queries_sent;
  send(s, std::move(q));
  return true;
}

void Router::parked_timeout(std::uint32_t id) {
  auto it = parked_.find(id);
  if (it == parked_.end()) return;
  Parked pk = std::move(it->second);
  parked_.erase(it);
  ++stats_.drop_unknown_key;
  if (pk.message.has_probe()) {
    answer_probe(pk.session, pk.message.probe().tag(), ProbeResult::DEAD_END);
  } else if (pk.message.has_circuit_init()) {
    reject_init(pk.session, static_cast<Label>(pk.message.circuit_init().label()),
                CircuitClose::REJECTED);
  }
}

void Router::handle_query(SessionId s, const PeerQuery& q) {
  RoutingMessage m;
  PeerAnswer* a = m.mutable_peer_answer();
  a->set_query_id(q.query_id());
  std::size_t n = 0;
  for (const std::string& raw : q.partial_ids()) {
    if (++n > kMaxQueryIds) break;
    PartialId p{};
    if (!load_id(raw, p)) continue;
    Bytes chain = keys_.chain_of(p);
    if (chain.empty()) continue;
    PeerEntry* e = a->add_peers();
    e->set_partial_id(raw);
    e->set_certificate_chain(std::string(chain.begin(), chain.end()));
  }
  ++stats_.peer_answers_sent;
  send(s, std::move(m));
}

void Router::handle_answer(SessionId s, const PeerAnswer& a, Timestamp now) {
  auto it = parked_.find(a.query_id());
  if (it == parked_.end() || it->second.session != s) {
    ++stats_.results_unmatched;
    return;
  }
  Parked pk = std::move(it->second);
  parked_.erase(it);
  for (const PeerEntry& e : a.peers()) {
    PartialId p{};
    if (!load_id(e.partial_id(), p)) continue;
    if (std::find(pk.asked.begin(), pk.asked.end(), p) == pk.asked.end()) continue;
    if (keys_.find(p)) continue;
    const std::string& c = e.certificate_chain();
    auto learned =
        keys_.learn(p, ByteView(reinterpret_cast<const std::uint8_t*>(c.data()), c.size()));
    if (learned) {
      ++stats_.keys_learned;
    } else {
      ++stats_.keys_rejected;
    }
  }
  // Run the parked message again; it may not ask a second time.
  if (pk.message.has_probe()) {
    handle_probe(pk.session, pk.message.probe(), now, false);
  } else if (pk.message.has_circuit_init()) {
    handle_init(pk.session, pk.message.circuit_init(), now, false);
  }
}

}  // namespace qc::routing
