// Node: the routing core on real sessions. Its messages ride the sessions' control streams
// (ControlMessage.routing); its timers run on the node's loop; its events are logged, recorded
// in the peer database and answer `qc connect`.
#include "daemon/node_internal.h"
#include "daemon/node_vpn.h"

namespace qc::daemon {

namespace {

std::string text_of(const routing::NodeId& id) {
  return identity::text_id(identity::partial_of(id));
}

// The nodes of a route, originator first, destination last, as text ids.
nlohmann::json path_of(const routing::RouteEstablish& est) {
  nlohmann::json path = nlohmann::json::array();
  for (const auto& hop : est.route().hops())
    path.push_back(text_of_partial_bytes(hop.partial_id()));
  path.push_back(text_of_partial_bytes(est.destination_id()));
  return path;
}

const char* reason_name(routing::CloseReason r) {
  switch (r) {
    case routing::CloseReason::kClosed:
      return "closed";
    case routing::CloseReason::kNoRoute:
      return "no route";
    case routing::CloseReason::kRejected:
      return "rejected";
    case routing::CloseReason::kLinkDown:
      return "link down";
    case routing::CloseReason::kExpired:
      return "expired";
  }
  return "?";
}

}  // namespace

void Node::init_routing() {
  routing::Config rc;
  rc.max_copies_per_probe = config_.routing.fanout;
  rc.wanted_circuits = config_.routing.wanted_circuits;
  signer_ = std::make_unique<routing::IdentitySigner>(identity_->key());
  keys_ = std::make_unique<routing::IdentityKeyDirectory>(identity_->ca_der(), [] {
    return static_cast<std::int64_t>(SystemClock::instance().unix_now() / kSecond);
  });
  if (auto r = keys_->add(identity_->chain_der()); !r)
    node_log()->warn("own chain not accepted by the routing key directory: {}", r.error().message);
  // Peers whose certificates we saw before (sessions, PeerQuery answers) can be verified
  // without asking again.
  if (db_) {
    if (auto peers = db_->list_peers()) {
      for (const auto& p : peers->items)
        if (!p.cert_chain.empty()) (void)keys_->add(p.cert_chain);
    }
  }
  std::uint64_t seed = 0;
  for (std::size_t i = 0; i < 8; ++i) seed = seed << 8 | identity_->node_id()[i];
  random_ = std::make_unique<routing::SeededRandom>(seed ^ SystemClock::instance().now());
  auto offset = static_cast<std::int64_t>(SystemClock::instance().unix_now()) -
                static_cast<std::int64_t>(now());
  router_ = std::make_unique<routing::Router>(rc, *signer_, *keys_, *random_, offset);
  routing_timer_ = std::make_unique<asio::steady_timer>(io_);
}

// Sends what the router queued, handles its events, and re-arms its timer. Call after every
// input to the router.
void Node::pump() {
  if (!router_) return;
  routing::Outgoing out;
  while (router_->poll_transmit(out)) {
    Link* link = nullptr;
    link::Session* s = session_of(out.session, &link);
    if (!s) continue;  // the session went down meanwhile; the router hears of it separately
    link::ControlMessage m;
    *m.mutable_routing() = std::move(out.message);
    if (auto r = s->send_control(m); !r)
      node_log()->debug("routing message to {} not sent: {}", s->peer_text_id(), r.error().message);
  }
  while (auto ev = router_->poll_event()) {
    if (auto* up = std::get_if<routing::CircuitUp>(&*ev)) {
      on_circuit_up(*up);
    } else if (auto* down = std::get_if<routing::CircuitDown>(&*ev)) {
      if (dataplane_ && dataplane_->channels) {
        dataplane_->channels->on_circuit_down(down->session, down->label, now());
        dataplane_->schedule_flush();
      }
      node_log()->info("circuit {:016x} to {} down: {}", down->circuit_id, text_of(down->remote),
                       reason_name(down->reason));
      if (on_circuit_change) on_circuit_change(down->remote, reason_name(down->reason), false);
    } else if (auto* un = std::get_if<routing::Unreachable>(&*ev)) {
      std::string who = un->peer.valid() ? identity::text_id(un->peer.partial()) : "?";
      node_log()->info("{} is unreachable: every probe branch answered dead-end", who);
      auto peer = un->peer;
      if (vpn_ && peer.valid()) vpn_->on_unreachable(peer.partial());
      finish_waiters([&](Waiter& w) { return w.peer == peer; },
                     Err(Errc::kUnreachable, who + " is unreachable (every path was a dead end)"));
    }
  }
  arm_routing_timer();
}

void Node::arm_routing_timer() {
  if (!router_ || stopped_) return;
  Timestamp at = router_->next_deadline();
  if (at == routing_timer_at_) return;
  routing_timer_at_ = at;
  if (at == kNever) {
    routing_timer_->cancel();
    return;
  }
  Timestamp t = now();
  routing_timer_->expires_after(std::chrono::nanoseconds(at > t ? at - t : 0));
  routing_timer_->async_wait([this, alive = alive_](const std::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    routing_timer_at_ = kNever;
    router_->handle_timeout(now());
    pump();
  });
}

void Node::on_circuit_up(const routing::CircuitUp& up) {
  if (dataplane_ && dataplane_->channels) {
    dataplane_->channels->on_circuit_up(up.remote, up.session, up.label, now());
    dataplane_->schedule_flush();
  }
  if (vpn_) vpn_->on_circuit_up(up.remote);
  auto path = path_of(up.route);
  std::string shown;
  for (const auto& p : path) shown += (shown.empty() ? "" : " -> ") + p.get<std::string>();
  node_log()->info("circuit {:016x} to {} established ({}): {}", up.circuit_id, text_of(up.remote),
                   up.originator ? "originator" : "destination", shown);
  if (on_circuit_change) on_circuit_change(up.remote, shown, true);
  if (db_) {
    peerdb::Batch batch;
    peerdb::CachedRoute cr;
    cr.destination = identity::partial_of(up.remote);
    std::string bytes;
    up.route.SerializeToString(&bytes);
    cr.route.assign(bytes.begin(), bytes.end());
    cr.hop_count = static_cast<std::uint32_t>(up.route.route().hops_size());
    cr.created_ms = unix_ms();
    (void)db_->put_route(cr);
    // Every relay of the route was seen as a hop.
    for (int i = 1; i < up.route.route().hops_size(); ++i) {
      const std::string& pid = up.route.route().hops(i).partial_id();
      if (pid.size() != identity::kPartialIdSize) continue;
      identity::PartialId p{};
      std::copy_n(reinterpret_cast<const std::uint8_t*>(pid.data()), p.size(), p.begin());
      if (p == identity_->partial_id()) continue;
      batch.events.push_back({0, peerdb::EventKind::kRelaySeen, p, 0, unix_ms(),
                              "relay of circuit to " + text_of(up.remote)});
    }
    if (!batch.events.empty()) (void)db_->apply(batch);
  }
  auto remote = up.remote;
  finish_waiters([&](Waiter& w) { return w.peer.matches(remote); },
                 CircuitView{up.circuit_id, up.remote, std::move(path)});
}

void Node::finish_waiters(const std::function<bool(Waiter&)>& match,
                          Result<CircuitView> result) {
  // Take the matching waiters out first: a callback may re-enter the router (and so this
  // function) before it returns.
  std::vector<std::unique_ptr<Waiter>> done;
  for (auto& w : waiters_) {
    if (w->finished || !match(*w)) continue;
    w->finished = true;
    if (w->timer) w->timer->cancel();
    done.push_back(std::move(w));
  }
  std::erase_if(waiters_, [](const std::unique_ptr<Waiter>& w) { return !w; });
  for (auto& w : done) w->done(result);
  // Their timers' handlers only compare pointers; destroying the waiters here is safe.
}

nlohmann::json CircuitView::to_json() const {
  return {{"circuit_id", fmt::format("{:016x}", id)},
          {"remote", text_of(remote)},
          {"node_id", to_hex(remote)},
          {"hops", path.empty() ? 0 : path.size() - 1},
          {"path", path}};
}

void Node::connect(const std::string& peer, Duration timeout,
                   std::function<void(Result<CircuitView>)> done) {
  auto cluster = identity_->cluster_id();
  auto parsed = identity::parse_peer(peer, config_.identity.suffix, &cluster);
  if (!parsed) {
    done(Err(parsed.error()));
    return;
  }
  connect(*parsed, peer, timeout, std::move(done));
}

void Node::connect(const identity::NodeIdPrefix& parsed, const std::string& peer,
                   Duration timeout, std::function<void(Result<CircuitView>)> done) {
  if (!router_) {
    done(Err(Errc::kClosed, "the node is not running"));
    return;
  }
  routing::PeerPrefix prefix{parsed.bytes};
  if (prefix.partial() == identity_->partial_id()) {
    done(Err(Errc::kInvalidArgument, "that is this node itself"));
    return;
  }
  // Already connected?
  std::optional<CircuitView> found;
  router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry& e) {
    if (found || e.state != routing::CircuitState::kEstablished) return;
    const routing::EndpointInfo* info = router_->endpoint(h);
    if (!info || !prefix.matches(info->remote)) return;
    found = CircuitView{e.id, info->remote, path_of(info->route)};
  });
  if (auto r = router_->want_peer(prefix, now()); !r) {
    done(Err(r.error()));
    return;
  }
  if (found) {
    done(*found);
    pump();
    return;
  }
  auto w = std::make_unique<Waiter>();
  w->peer = prefix;
  w->done = std::move(done);
  w->timer = std::make_unique<asio::steady_timer>(io_);
  w->timer->expires_after(std::chrono::nanoseconds(timeout));
  Waiter* wp = w.get();
  w->timer->async_wait([this, alive = alive_, wp, peer](const std::error_code& ec) {
    if (ec || !*alive) return;
    finish_waiters([wp](Waiter& x) { return &x == wp; },
                   Err(Errc::kTimeout, "no circuit to " + peer + " yet; the node keeps trying"));
  });
  waiters_.push_back(std::move(w));
  pump();
}

nlohmann::json Node::circuits_json() {
  nlohmann::json out = nlohmann::json::array();
  if (!router_) return out;
  Timestamp t = now();
  auto side = [&](const routing::CircuitSide& s) -> nlohmann::json {
    if (!s.present()) return nullptr;
    link::Session* sess = session_of(s.session);
    return {{"session", s.session},
            {"peer", sess ? sess->peer_text_id() : std::string("?")},
            {"label", s.label}};
  };
  router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry& e) {
    nlohmann::json c = {
        {"circuit_id", fmt::format("{:016x}", e.id)},
        {"role", e.role == routing::CircuitRole::kRelay        ? "relay"
                 : e.role == routing::CircuitRole::kOriginator ? "originator"
                                                               : "destination"},
        {"state", e.state == routing::CircuitState::kEstablished ? "ESTABLISHED" : "PENDING"},
        {"expires_in_s", e.expiry > t ? static_cast<double>(e.expiry - t) / 1e9 : 0.0},
        {"back", side(e.back)},
        {"forward", side(e.fwd)},
    };
    if (const routing::EndpointInfo* info = router_->endpoint(h)) {
      c["remote"] = text_of(info->remote);
      c["path"] = path_of(info->route);
    } else {
      // A relay knows its two neighbours on the circuit.
      nlohmann::json path = nlohmann::json::array();
      path.push_back(c["back"].is_null() ? "?" : c["back"]["peer"]);
      path.push_back(identity_->text_id());
      path.push_back(c["forward"].is_null() ? "?" : c["forward"]["peer"]);
      c["path"] = path;
    }
    out.push_back(std::move(c));
  });
  return out;
}

nlohmann::json Node::routes_json() {
  nlohmann::json out = nlohmann::json::array();
  if (!db_) return out;
  auto routes = db_->list_routes();
  if (!routes) return out;
  for (const auto& r : routes->items) {
    routing::RouteEstablish est;
    nlohmann::json path = nlohmann::json::array();
    if (est.ParseFromArray(r.route.data(), static_cast<int>(r.route.size()))) path = path_of(est);
    out.push_back({{"destination", identity::text_id(r.destination)},
                   {"hops", r.hop_count},
                   {"path", path},
                   {"created_ms", r.created_ms},
                   {"last_used_ms", r.last_used_ms}});
  }
  return out;
}

}  // namespace qc::daemon
