// Node: `qc trace`: the circuits to a peer hop by hop, from dedicated statistics probes (see
// circuit/trace.h for what each figure means). The probes travel the circuit like a channel's
// path probes; the far endpoint answers every stats probe on a circuit it ends, channel or not.
#include <atomic>

#include "daemon/node_internal.h"

namespace qc::daemon {

namespace {

// How long the first probes on a circuit built for the trace wait (several loopback or LAN
// trips; a farther end may still miss the first probe, which the answer count then shows).
constexpr Duration kFreshCircuitSettle = 200 * kMillisecond;

nlohmann::json ms_json(const circuit::MinMedian& m) {
  return {{"min", static_cast<double>(m.min) / 1e6},
          {"median", static_cast<double>(m.median) / 1e6}};
}

// The route's nodes from this node's side: originator first when we built it, reversed when the
// peer did.
nlohmann::json path_from_us(const routing::RouteEstablish& est, bool originator) {
  std::vector<std::string> path;
  for (const auto& hop : est.route().hops())
    path.push_back(text_of_partial_bytes(hop.partial_id()));
  path.push_back(text_of_partial_bytes(est.destination_id()));
  if (!originator) std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace

void Node::trace(const std::string& peer, int count, Duration interval, Duration wait,
                 Duration timeout, std::function<void(Result<nlohmann::json>)> done) {
  if (!dataplane_ || !router_) {
    done(Err(Errc::kUnsupported, "the data plane is not running on this node"));
    return;
  }
  auto job = std::make_shared<TraceJob>();
  job->name = peer;
  job->count = std::max(1, count);
  job->interval = interval;
  job->wait = wait;
  job->done = std::move(done);
  // A circuit built for this trace is ESTABLISHED here one trip before the far end, which drops
  // what arrives before: then the first probes wait a moment.
  bool had_circuit = false;
  auto cluster = identity_->cluster_id();
  if (auto parsed = identity::parse_peer(peer, config_.identity.suffix, &cluster)) {
    routing::PeerPrefix prefix{parsed->bytes};
    router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry& e) {
      const routing::EndpointInfo* info = router_->endpoint(h);
      had_circuit = had_circuit || (e.state == routing::CircuitState::kEstablished && info &&
                                    prefix.matches(info->remote));
    });
  }
  connect(peer, timeout, [this, alive = alive_, job, had_circuit](Result<CircuitView> c) {
    if (!*alive) return;
    if (!c) {
      job->done(Err(c.error()));
      return;
    }
    start_trace(std::make_unique<TraceJob>(std::move(*job)), *c, had_circuit);
  });
}

void Node::start_trace(std::unique_ptr<TraceJob> job, const CircuitView& circuit,
                       bool had_circuit) {
  job->peer = circuit.remote;
  static std::atomic<std::uint64_t> next_id{0};  // nodes of one process may run on several threads
  std::uint64_t trace_id = ++next_id;
  router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry& e) {
    if (e.state != routing::CircuitState::kEstablished) return;
    const routing::EndpointInfo* info = router_->endpoint(h);
    if (!info || info->remote != job->peer) return;
    bool originator = e.role == routing::CircuitRole::kOriginator;
    const routing::CircuitSide& side = originator ? e.fwd : e.back;
    if (!side.present()) return;
    job->circuits.push_back({fmt::format("{:016x}", e.id), originator, side.session, side.label,
                             path_from_us(info->route, originator), circuit::TraceProbe(trace_id)});
  });
  if (job->circuits.empty()) {
    job->done(Err(Errc::kUnreachable, "no established circuit to " + job->name));
    return;
  }
  job->step = std::make_unique<asio::steady_timer>(io_);
  TraceJob* jp = job.get();
  traces_.push_back(std::move(job));
  if (had_circuit) {
    trace_step(*jp);
    return;
  }
  jp->step->expires_after(std::chrono::nanoseconds(kFreshCircuitSettle));
  jp->step->async_wait([this, alive = alive_, jp](const std::error_code& ec) {
    if (!ec && *alive && !jp->finished) trace_step(*jp);
  });
}

void Node::trace_step(TraceJob& job) {
  if (job.finished || stopped_) return;
  int sent = static_cast<int>(job.circuits.front().probe.sent());
  if (sent < job.count) {
    Timestamp t = now();
    for (auto& c : job.circuits) {
      Bytes body = c.probe.next(t);
      // A probe that cannot be sent stays unanswered: the answer count shows it.
      (void)dataplane_->dp.send(c.session, c.label, circuit::PacketType::kStats, body);
    }
    ++sent;
  }
  Duration delay = sent < job.count ? job.interval : job.wait;
  job.step->expires_after(std::chrono::nanoseconds(delay));
  job.step->async_wait(
      [this, alive = alive_, jp = &job, last = sent >= job.count](const std::error_code& ec) {
        if (ec || !*alive || jp->finished) return;
        if (last) {
          finish_trace(*jp);
        } else {
          trace_step(*jp);
        }
      });
}

bool Node::on_trace_answer(std::uint64_t session, std::uint16_t label, ByteView body,
                           Timestamp now) {
  auto s = circuit::decode_stats(body);
  if (!s || !s->reply || !circuit::is_trace_seq(s->seq)) return false;
  circuit::FirstLink first;
  first.rtt = dataplane_->session_rtt(session);
  first.queue = static_cast<std::uint32_t>(dataplane_->dp.queue_length(session));
  first.drops = static_cast<std::uint32_t>(dataplane_->dp.queue_drops(session));
  first.room = static_cast<std::uint32_t>(dataplane_->dp.room(session, label));
  for (auto& j : traces_) {
    if (j->finished) continue;
    bool all = true;
    for (auto& c : j->circuits) {
      if (c.session == session && c.label == label) (void)c.probe.on_answer(*s, first, now);
      all = all && c.probe.all_answered() && c.probe.sent() == static_cast<std::size_t>(j->count);
    }
    if (all) finish_trace(*j);
  }
  return true;  // a trace answer is nobody else's, even a late one
}

void Node::finish_trace(TraceJob& job) {
  if (job.finished) return;
  job.finished = true;
  if (job.step) job.step->cancel();
  nlohmann::json circuits = nlohmann::json::array();
  channel::Channel* ch = dataplane_->channels ? dataplane_->channels->find(job.peer) : nullptr;
  for (auto& c : job.circuits) {
    circuit::TraceSummary s = c.probe.summary();
    bool in_use = false;
    if (ch && ch->current_path()) {
      const auto& p = ch->paths()[*ch->current_path()];
      in_use = p.session == c.session && p.label == c.label;
    }
    nlohmann::json hops = nlohmann::json::array();
    // One row per node after us on the path; a row no answer described has no figures.
    for (std::size_t k = 1; k < c.path.size(); ++k) {
      nlohmann::json row = {{"hop", k}, {"peer", c.path[k]}, {"samples", 0}};
      if (k <= s.hops.size() && s.hops[k - 1].samples > 0) {
        const circuit::TraceHop& h = s.hops[k - 1];
        row["samples"] = h.samples;
        row["rtt_ms"] = ms_json(h.rtt);
        row["step_ms"] = ms_json(h.step);
        row["queue"] = h.queue_max;
        row["drops"] = h.drops;
        row["room"] = h.room_min;
      }
      hops.push_back(std::move(row));
    }
    circuits.push_back({{"circuit_id", c.circuit_id},
                        {"role", c.originator ? "originator" : "destination"},
                        {"session", c.session},
                        {"label", c.label},
                        {"channel_path", in_use},
                        {"path", c.path},
                        {"sent", s.sent},
                        {"answered", s.answered},
                        {"round_trip_ms", s.round_trip ? ms_json(*s.round_trip) : nullptr},
                        {"relays_reported", s.hops.empty() ? 0 : s.hops.size() - 1},
                        {"hops", std::move(hops)}});
  }
  auto done = std::move(job.done);
  nlohmann::json out = {{"peer", identity::text_id(job.peer)},
                        {"node_id", to_hex(job.peer)},
                        {"count", job.count},
                        {"circuits", std::move(circuits)}};
  // Erase only this job, on a later turn: handlers already queued for its timer run first and
  // see `finished`.
  asio::post(io_, [this, alive = alive_, jp = &job] {
    if (!*alive) return;
    std::erase_if(traces_, [jp](const std::unique_ptr<TraceJob>& j) { return j.get() == jp; });
  });
  if (stopped_) {
    done(Err(Errc::kClosed, "the node is stopping"));
  } else {
    done(std::move(out));
  }
}

}  // namespace qc::daemon
