// Node: the circuit data plane and the end-to-end channels on real sessions and the router.
// Circuit packets ride the sessions' DATAGRAMs (circuit::DataPlane swaps labels at relays);
// circuits this node ends feed the ChannelManager (one QUIC channel per peer). Channel DATAGRAMs
// carry IPv6 packets (first byte 0x6_) in VPN mode and node messages: 0x01 ping, 0x02 pong,
// 0x03 an application datagram (Node::send_datagram, node_streams.cc).
#include <cstring>

#include "daemon/node_internal.h"
#include "daemon/node_vpn.h"

namespace qc::daemon {

namespace {
constexpr std::uint8_t kPing = 0x01;
constexpr std::uint8_t kPong = 0x02;
}  // namespace

void Node::init_dataplane() {
  dataplane_ = std::make_unique<Dataplane>(*this);
  channel::ChannelConfig cc;
  cc.self = identity_->node_id();
  auto tls = transport::TlsContext::create(
      transport::TlsCredentials{identity_->ca_pem(), identity_->chain_pem(), identity_->key_pem()});
  if (!tls) {
    node_log()->error("channels disabled: {}", tls.error().message);
    return;
  }
  cc.tls = *tls;
  // Stream readers credit what they take (ChannelStream): a slow reader holds the sender back.
  cc.manual_stream_credit = true;
  dataplane_->channels = std::make_unique<channel::ChannelManager>(cc, dataplane_->dp, *dataplane_);
  dataplane_->dp.set_receiver(dataplane_.get());
  dataplane_->pump =
      std::make_unique<channel::ChannelPump>(io_, *dataplane_->channels, SystemClock::instance());
}

void Node::on_channel_ready(const identity::NodeId& peer) {
  node_log()->info("channel to {} ready", identity::text_id(identity::partial_of(peer)));
  on_channel_event(peer, nullptr);
  if (vpn_) vpn_->on_channel_ready(peer);
  for (auto& j : pings_)
    if (!j->finished && !j->started && j->peer == peer) {
      j->started = true;
      ping_step(*j);
    }
}

void Node::on_channel_datagram(const identity::NodeId& peer, ByteView data) {
  if (data.empty()) return;
  if (on_app_datagram(peer, data)) return;
  if (data[0] == kPing && data.size() >= 5) {
    Bytes pong(data.begin(), data.end());
    pong[0] = kPong;
    if (channel::Channel* ch = dataplane_->channels->find(peer)) {
      (void)ch->send_datagram(pong);
      dataplane_->schedule_flush();
    }
    return;
  }
  if (data[0] == kPong && data.size() >= 9) {
    std::uint32_t seq, id;
    std::memcpy(&seq, data.data() + 1, 4);
    std::memcpy(&id, data.data() + 5, 4);
    for (auto& j : pings_) {
      if (j->finished || j->peer != peer || j->id != id) continue;
      auto it = j->outstanding.find(seq);
      if (it == j->outstanding.end()) continue;
      j->rtts.push_back(static_cast<double>(now() - it->second) / 1e6);
      j->outstanding.erase(it);
      if (j->sent == j->count && j->outstanding.empty()) {
        nlohmann::json r = {{"circuit", j->circuit}, {"rtt_ms", j->rtts}, {"lost", 0}};
        finish_ping(*j, r);
      }
    }
    return;
  }
  // 0x6_: an IPv6 packet for VPN mode (dropped when VPN mode is off).
  if ((data[0] >> 4) == 6 && vpn_) vpn_->on_datagram(peer, data);
}

void Node::ping_step(PingJob& job) {
  if (job.finished) return;
  channel::Channel* ch = dataplane_->channels->find(job.peer);
  if (!ch || !ch->is_ready()) return;
  if (job.sent < job.count) {
    Bytes ping(16, 0);
    ping[0] = kPing;
    std::uint32_t seq = static_cast<std::uint32_t>(job.sent + 1);
    std::memcpy(ping.data() + 1, &seq, 4);
    std::memcpy(ping.data() + 5, &job.id, 4);
    job.outstanding[seq] = now();
    ++job.sent;
    if (auto r = ch->send_datagram(ping); !r) {
      finish_ping(job, Err(r.error()));
      return;
    }
    dataplane_->schedule_flush();
  }
  if (job.sent < job.count) {
    job.step->expires_after(std::chrono::nanoseconds(job.interval));
    job.step->async_wait([this, alive = alive_, jp = &job](const std::error_code& ec) {
      if (!ec && *alive) ping_step(*jp);
    });
  }
}

void Node::finish_ping(PingJob& job, Result<nlohmann::json> r) {
  if (job.finished) return;
  job.finished = true;
  if (job.step) job.step->cancel();
  if (job.deadline) job.deadline->cancel();
  auto done = std::move(job.done);
  // Erase only this job, on a later turn: its timer handlers already queued run first and see
  // `finished`.
  asio::post(io_, [this, alive = alive_, jp = &job] {
    if (!*alive) return;
    std::erase_if(pings_, [jp](const std::unique_ptr<PingJob>& j) { return j.get() == jp; });
  });
  done(std::move(r));
}

void Node::ping(const std::string& peer, int count, Duration interval, Duration timeout,
                std::function<void(Result<nlohmann::json>)> done) {
  if (!dataplane_ || !dataplane_->channels) {
    done(Err(Errc::kUnsupported, "channels are not running on this node"));
    return;
  }
  connect(peer, timeout, [this, peer, count, interval, timeout, done](Result<CircuitView> c) {
    if (!c) {
      done(Err(c.error()));
      return;
    }
    auto job = std::make_unique<PingJob>();
    static std::uint32_t next_id = 0;
    job->id = ++next_id;
    job->name = peer;
    job->peer = c->remote;
    job->count = std::max(1, count);
    job->interval = interval;
    job->circuit = c->to_json();
    job->done = done;
    job->step = std::make_unique<asio::steady_timer>(io_);
    job->deadline = std::make_unique<asio::steady_timer>(io_);
    PingJob* jp = job.get();
    pings_.push_back(std::move(job));
    jp->deadline->expires_after(
        std::chrono::nanoseconds(timeout + interval * static_cast<Duration>(count)));
    jp->deadline->async_wait([this, alive = alive_, jp](const std::error_code& ec) {
      if (ec || !*alive || jp->finished) return;
      if (jp->rtts.empty()) {
        finish_ping(*jp, Err(Errc::kTimeout, "no answer over the channel to " + jp->name));
      } else {
        finish_ping(*jp, nlohmann::json{{"circuit", jp->circuit},
                                        {"rtt_ms", jp->rtts},
                                        {"lost", jp->sent - static_cast<int>(jp->rtts.size())}});
      }
    });
    channel::Channel* ch = dataplane_->channels->open(jp->peer, now());
    dataplane_->schedule_flush();
    if (ch && ch->is_ready()) {
      jp->started = true;
      ping_step(*jp);
    }
  });
}

}  // namespace qc::daemon
