// Node: the control socket's commands and the inspection views behind them.
#include "daemon/node_internal.h"
#include "daemon/node_vpn.h"

namespace qc::daemon {

namespace {
const char* event_name(peerdb::EventKind k) {
  switch (k) {
    case peerdb::EventKind::kBeaconObserved:
      return "beacon";
    case peerdb::EventKind::kSessionUp:
      return "session_up";
    case peerdb::EventKind::kSessionDown:
      return "session_down";
    case peerdb::EventKind::kRelaySeen:
      return "relay";
  }
  return "?";
}
// The request's "peer" (a string), or nullopt once the error is answered.
std::optional<std::string> peer_of(const nlohmann::json& req, const std::string& cmd,
                                   const ControlServer::Reply& reply) {
  if (req.contains("peer") && req["peer"].is_string()) return req["peer"].get<std::string>();
  reply({{"ok", false}, {"error", cmd + " needs \"peer\": a text id, hostname or address"}});
  return std::nullopt;
}

// The request's number `key` clamped to [lo, hi]; `def` when absent. A value that is not a
// number throws nlohmann's type_error, which the control server answers as a bad request.
template <typename T>
T number_arg(const nlohmann::json& req, const char* key, T def, T lo, T hi) {
  auto it = req.find(key);
  if (it == req.end() || it->is_null()) return def;
  return std::clamp(it->get<T>(), lo, hi);
}
// The timing arguments ping and trace share.
struct Probing {
  int count;
  Duration interval;
  Duration timeout;
};
Probing probing_args(const nlohmann::json& req, int count, double interval) {
  return {number_arg(req, "count", count, 1, 1000),
          seconds(number_arg(req, "interval", interval, 0.001, 10.0)),
          seconds(number_arg(req, "timeout", 10.0, 0.1, 600.0))};
}

// Answers with the result ({key: result} when `key` is given) or its error and code.
std::function<void(Result<nlohmann::json>)> answer(ControlServer::Reply reply,
                                                   std::string key = "") {
  return [reply = std::move(reply), key = std::move(key)](Result<nlohmann::json> r) {
    if (!r) {
      reply({{"ok", false}, {"error", r.error().message}, {"code", errc_name(r.error().code)}});
    } else if (key.empty()) {
      reply(*r);
    } else {
      reply({{key, *r}});
    }
  };
}

}  // namespace

nlohmann::json Node::peers_json() {
  nlohmann::json sessions = nlohmann::json::array();
  for (const auto& v : this->sessions()) {
    sessions.push_back({{"session", v.id},
                        {"peer", v.peer_text_id},
                        {"node_id", to_hex(v.peer_id)},
                        {"remote", v.remote},
                        {"interface", v.interface_name.empty() ? "listen" : v.interface_name},
                        {"interface_id", v.interface_id},
                        {"dialled", v.dialled},
                        {"rtt_ms", v.rtt_ms}});
    if (link::Session* ss = session_of(v.id)) {
      auto st = ss->transport_stats();
      sessions.back()["transport"] = {{"cwnd", st.cwnd},
                                      {"bytes_in_flight", st.bytes_in_flight},
                                      {"packets_sent", st.packets_sent},
                                      {"packets_received", st.packets_received},
                                      {"datagrams_sent", st.datagrams_sent},
                                      {"datagrams_received", st.datagrams_received},
                                      {"datagrams_dropped", st.datagrams_dropped},
                                      {"datagram_anchors", st.datagram_anchors},
                                      {"datagrams_queued", st.datagrams_queued},
                                      {"pto_count", st.pto_count},
                                      {"loss_timer_armed", st.loss_detection_timer != 0 &&
                                                           st.loss_detection_timer != kNever},
                                      {"expiry_in_ms", st.expiry == kNever ? -1.0
                                                       : (static_cast<double>(st.expiry) -
                                                          static_cast<double>(now())) / 1e6}};
    }
  }
  nlohmann::json known = nlohmann::json::array();
  if (db_) {
    if (auto peers = db_->list_peers()) {
      for (const auto& p : peers->items) {
        nlohmann::json last = nlohmann::json::object();
        for (auto k : {peerdb::EventKind::kBeaconObserved, peerdb::EventKind::kSessionUp,
                       peerdb::EventKind::kSessionDown, peerdb::EventKind::kRelaySeen})
          if (p.last_seen(k)) last[event_name(k)] = p.last_seen(k);
        nlohmann::json addrs = nlohmann::json::array();
        for (const auto& a : p.addresses) addrs.push_back(a.host_port);
        known.push_back({{"peer", identity::text_id(p.partial)},
                         {"node_id", p.node_id ? to_hex(*p.node_id) : ""},
                         {"certificate", !p.cert_chain.empty()},
                         {"addresses", addrs},
                         {"last_seen_ms", last}});
      }
    }
  }
  return {{"sessions", sessions}, {"known", known}};
}

nlohmann::json Node::status_json() {
  nlohmann::json links = nlohmann::json::array();
  for (auto& l : links_)
    if (l)
      links.push_back({{"interface", l->name.empty() ? "listen" : l->name},
                       {"interface_id", l->interface_id},
                       {"address", l->mgr->local_address().to_string()},
                       {"sessions", l->mgr->up_sessions().size()}});
  nlohmann::json j = {{"name", label()},
                      {"text_id", identity_->text_id()},
                      {"node_id", to_hex(identity_->node_id())},
                      {"hostname", identity_->hostname(config_.identity.suffix)},
                      {"address", identity::ipv6_to_string(identity_->address())},
                      {"cluster", identity::cluster_prefix(identity_->cluster_id())},
                      {"links", links}};
  if (router_) {
    j["routing"] = {{"circuits", router_->circuits().size()},
                    {"probe_entries", router_->probe_table().size()},
                    {"cached_routes", router_->route_cache().size()}};
  }
  if (dataplane_) {
    const auto& d = dataplane_->dp.stats();
    j["dataplane"] = {{"forwarded", d.forwarded},       {"forwarded_bytes", d.forwarded_bytes},
                      {"delivered", d.delivered},       {"sent_local", d.sent_local},
                      {"unknown_label", d.unknown_label}, {"malformed", d.malformed},
                      {"queued", d.queued},             {"queue_drops", d.queue_drops},
                      {"too_big", d.too_big},           {"closed_drops", d.closed_drops}};
    if (dataplane_->channels) {
      nlohmann::json chans = nlohmann::json::array();
      dataplane_->channels->for_each([&](const channel::Channel& ch) {
        nlohmann::json paths = nlohmann::json::array();
        for (std::size_t i = 0; i < ch.paths().size(); ++i) {
          const auto& p = ch.paths()[i];
          paths.push_back({{"session", p.session},
                           {"label", p.label},
                           {"in_use", ch.current_path() == i},
                           {"failed", p.failed},
                           {"unanswered", p.unanswered},
                           {"rtt_ms", static_cast<double>(p.rtt) / 1e6},
                           {"packets_sent", p.packets_sent}});
        }
        auto st = ch.stats();
        chans.push_back({{"peer", identity::text_id(identity::partial_of(ch.peer()))},
                         {"ready", ch.is_ready()},
                         {"packet_size", ch.packet_size()},
                         {"srtt_ms", static_cast<double>(st.smoothed_rtt) / 1e6},
                         {"cwnd", st.cwnd},
                         {"bytes_in_flight", st.bytes_in_flight},
                         {"packets_sent", st.packets_sent},
                         {"packets_received", st.packets_received},
                         {"packets_dropped", ch.packets_dropped()},
                         {"paths", paths}});
      });
      j["channels"] = chans;
    }
  }
  if (discovery_) {
    const auto& c = discovery_->counters();
    j["discovery"] = {{"sent", c.sent}, {"interfaces", discovery_->interfaces().size()}};
  }
  if (vpn_) j["vpn"] = vpn_->status();
  return j;
}

void Node::init_control() {
  control_ = std::make_unique<ControlServer>(io_, config_.control_socket());
  control_->handle("status", [this](const nlohmann::json&, ControlServer::Reply reply) {
    reply(status_json());
  });
  control_->handle(
      "peers", [this](const nlohmann::json&, ControlServer::Reply reply) { reply(peers_json()); });
  control_->handle("routes", [this](const nlohmann::json&, ControlServer::Reply reply) {
    reply({{"routes", routes_json()}});
  });
  control_->handle("circuits", [this](const nlohmann::json&, ControlServer::Reply reply) {
    reply({{"circuits", circuits_json()}});
  });
  control_->handle("ping", [this](const nlohmann::json& req, ControlServer::Reply reply) {
    auto peer = peer_of(req, "ping", reply);
    if (!peer) return;
    Probing p = probing_args(req, 3, 0.2);
    ping(*peer, p.count, p.interval, p.timeout, answer(reply));
  });
  control_->handle("trace", [this](const nlohmann::json& req, ControlServer::Reply reply) {
    auto peer = peer_of(req, "trace", reply);
    if (!peer) return;
    Probing p = probing_args(req, 5, 0.1);
    Duration wait = seconds(number_arg(req, "wait", 2.0, 0.01, 60.0));
    trace(*peer, p.count, p.interval, wait, p.timeout, answer(reply));
  });
  control_->handle("connect", [this](const nlohmann::json& req, ControlServer::Reply reply) {
    auto peer = peer_of(req, "connect", reply);
    if (!peer) return;
    connect(*peer, seconds(number_arg(req, "timeout", 10.0, 0.1, 600.0)),
            [a = answer(reply, "circuit")](Result<CircuitView> c) {
              a(c ? Result<nlohmann::json>(c->to_json()) : Err(c.error()));
            });
  });
}

}  // namespace qc::daemon
