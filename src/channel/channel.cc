#include "channel/channel.h"

#include <algorithm>

#include "common/log.h"

namespace qc::channel {
namespace {

using circuit::PacketType;
using circuit::SendStatus;

std::shared_ptr<spdlog::logger> channel_log() {
  return log::get("channel");
}

// The channel's QUIC connection runs on a fixed virtual path: circuits, not addresses, carry it.
// Built once: it is passed with every packet read (parsing it there cost ~1 % of the CPU time).
const transport::Path& virtual_path(bool client) {
  static const transport::Address a = *transport::Address::parse("127.0.0.1", 1);
  static const transport::Address b = *transport::Address::parse("127.0.0.1", 2);
  static const transport::Path client_path{a, b};
  static const transport::Path server_path{b, a};
  return client ? client_path : server_path;
}

Errc errc_of(const transport::CloseInfo& info) {
  switch (info.kind) {
    case transport::CloseInfo::Kind::kLocal:
    case transport::CloseInfo::Kind::kPeer:
      return Errc::kClosed;
    case transport::CloseInfo::Kind::kIdleTimeout:
    case transport::CloseInfo::Kind::kHandshakeTimeout:
      return Errc::kTimeout;
    case transport::CloseInfo::Kind::kTlsRefused:
      return Errc::kVerify;
  }
  return Errc::kClosed;
}

}  // namespace

Channel::Channel(const ChannelConfig& config, circuit::DataPlane& data_plane,
                 ChannelObserver& observer, const NodeId& peer, Timestamp now)
    : config_(config),
      dp_(data_plane),
      observer_(observer),
      peer_(peer),
      client_(config.self < peer),
      last_activity_(now),
      now_(now) {}

Channel::~Channel() {
  if (conn_) conn_->set_observer(nullptr);
}

std::size_t Channel::healthy_paths() const {
  return static_cast<std::size_t>(
      std::count_if(paths_.begin(), paths_.end(), [](const ChannelPath& p) { return !p.failed; }));
}

ChannelPath* Channel::find_path(circuit::SessionId session, circuit::Label label) {
  for (auto& p : paths_) {
    if (p.session == session && p.label == label) return &p;
  }
  return nullptr;
}

void Channel::add_path(circuit::SessionId session, circuit::Label label, Timestamp now) {
  if (find_path(session, label) != nullptr) return;
  ChannelPath p;
  p.session = session;
  p.label = label;
  paths_.push_back(p);
  next_probe_ = now;  // measure the new path at once
  if (started_ && client_ && !conn_) try_connect(now);
}

void Channel::remove_path(circuit::SessionId session, circuit::Label label, Timestamp now) {
  auto it = std::find_if(paths_.begin(), paths_.end(), [&](const ChannelPath& p) {
    return p.session == session && p.label == label;
  });
  if (it == paths_.end()) return;
  paths_.erase(it);
  current_.reset();
  choose_path();
  check_want_circuits(now);
}

std::size_t Channel::path_room(const ChannelPath& p) {
  return std::min(dp_.room(p.session, p.label), p.hop_room);
}

void Channel::choose_path() {
  const std::size_t need = conn_ ? std::max(packet_size_, std::size_t{1}) : kMinChannelPacket;
  auto usable = [&](const ChannelPath& p) { return !p.failed && path_room(p) >= need; };
  std::optional<std::size_t> best;
  for (std::size_t i = 0; i < paths_.size(); ++i) {
    if (!usable(paths_[i])) continue;
    if (!best) {
      best = i;
      continue;
    }
    const ChannelPath& b = paths_[*best];
    const ChannelPath& c = paths_[i];
    if (c.unanswered < b.unanswered ||
        (c.unanswered == b.unanswered && c.rtt != 0 && (b.rtt == 0 || c.rtt < b.rtt))) {
      best = i;
    }
  }
  if (!best) {
    // Every path looks failed. Keep sending on the one answered most recently rather than on
    // none: a path that is only slow (queues behind a burst) still delivers, and QUIC recovers
    // what a dead one loses; sending nothing would stall the channel until a probe returns.
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      const ChannelPath& c = paths_[i];
      if (c.dead || path_room(c) < need || c.rtt == 0) continue;
      if (!best || c.answered_seq > paths_[*best].answered_seq) best = i;
    }
    if (!best) {
      current_.reset();
      return;
    }
    current_ = best;
    return;
  }
  if (current_ && *current_ < paths_.size() && usable(paths_[*current_])) {
    const ChannelPath& cur = paths_[*current_];
    const ChannelPath& b = paths_[*best];
    // Hysteresis: move only for a clearly better path (a third less RTT) or a degrading one.
    bool degrading = cur.unanswered >= 2 && b.unanswered == 0;
    bool faster = b.rtt != 0 && cur.rtt != 0 && b.rtt * 3 < cur.rtt * 2;
    if (!degrading && !faster) return;
  }
  if (current_ != best) {
    channel_log()->debug("channel to {}: path {}:{} in use", identity::text_id(peer_),
                         paths_[*best].session, paths_[*best].label);
  }
  current_ = best;
}

transport::ConnectionSettings Channel::settings(transport::Role role, std::size_t packet) const {
  transport::ConnectionSettings s;
  s.role = role;
  s.tls = config_.tls;
  s.alpn = config_.alpn;
  s.sni = identity::text_id(peer_) + ".fuse";
  s.expected_peer = peer_;
  s.cc = config_.cc;
  s.idle_timeout = config_.quic_idle_timeout;
  s.keep_alive = config_.keep_alive;
  s.cid_length = 8;
  s.max_tx_udp_payload_size = packet;
  s.pmtud = false;
  s.payload_shaping = false;
  s.max_window = config_.max_window;
  s.stream_send_buffer = config_.stream_send_buffer;
  s.initial_max_stream_data = config_.initial_max_stream_data;
  s.max_stream_window = config_.max_stream_window;
  s.manual_stream_credit = config_.manual_stream_credit;
  s.max_streams_bidi = config_.max_streams_bidi;
  s.max_streams_uni = 1;  // the peer's anchor stream
  return s;
}

void Channel::start(Timestamp now) {
  if (started_ || closed_) return;
  started_ = true;
  start_time_ = now;
  last_activity_ = now;
  check_want_circuits(now);
  if (client_) {
    try_connect(now);
  } else {
    next_probe_ = now;  // sends the wake with the first probes
  }
}

void Channel::try_connect(Timestamp now) {
  if (conn_ || closed_ || !client_) return;
  // Only paths whose probe was answered: the answer carries every relay's room, so the
  // Initial (padded to the packet size) fits all hops (notes/nested-quic.md section 5).
  std::size_t packet = 0;
  for (const auto& p : paths_) {
    std::size_t room = path_room(p);
    if (p.failed || p.rtt == 0 || room < kMinChannelPacket) continue;
    packet = packet == 0 ? room : std::min(packet, room);
  }
  if (packet == 0) return;  // wait for room (bounded by room_wait in on_timer)
  packet_size_ = std::min(packet, config_.max_packet);
  auto c = transport::Connection::connect(settings(transport::Role::kClient, packet_size_),
                                          virtual_path(true), this, now);
  if (!c) {
    fail(c.error().code, "channel connect: " + c.error().message);
    return;
  }
  conn_ = std::move(*c);
  flush(now);
}

void Channel::accept(ByteView initial, Timestamp now) {
  std::size_t packet = 0;
  for (const auto& p : paths_) {
    std::size_t room = path_room(p);
    if (room < kMinChannelPacket) continue;
    packet = packet == 0 ? room : std::min(packet, room);
  }
  if (packet == 0) {
    ++packets_dropped_;  // no path could carry our answer; the client retries
    return;
  }
  // The client's Initial is padded to its packet size, which fit every hop toward us.
  packet_size_ = std::min({packet, config_.max_packet, initial.size()});
  auto c = transport::Connection::accept(settings(transport::Role::kServer, packet_size_),
                                         virtual_path(false), initial, this, now);
  if (!c) {
    ++packets_dropped_;
    return;
  }
  conn_ = std::move(*c);
  started_ = true;
}

void Channel::fail(Errc code, const std::string& message) {
  if (closed_) return;
  closed_ = true;
  error_ = Error{code, message};
  channel_log()->warn("channel to {}: {}", identity::text_id(peer_), message);
  if (conn_ && !conn_->is_closed()) conn_->close(0, message);
  observer_.on_channel_closed(peer_, *error_);
}

void Channel::on_packet(circuit::SessionId session, circuit::Label label, PacketType type,
                        ByteView body, Timestamp now) {
  now_ = now;
  ChannelPath* p = find_path(session, label);
  if (p == nullptr || closed_) return;
  switch (type) {
    case PacketType::kData:
      if (!conn_) {
        if (client_ || !transport::Connection::is_client_initial(body)) {
          ++packets_dropped_;
          return;
        }
        accept(body, now);
        if (!conn_) return;
      }
      (void)conn_->read_packet(virtual_path(client_), body, 0, now);
      return;
    case PacketType::kStats:
      on_stats(*p, body, now);
      return;
    case PacketType::kWake:
      if (client_ && !conn_) {
        started_ = false;
        start(now);
      }
      return;
  }
}

void Channel::on_stats(ChannelPath& p, ByteView body, Timestamp now) {
  auto s = circuit::decode_stats(body);
  if (!s || !s->reply || s->seq <= p.answered_seq || s->seq > p.probe_seq) return;
  const auto& slot = p.sent_probes[s->seq % p.sent_probes.size()];
  if (slot.seq != s->seq) return;  // older than what we remember
  p.answered_seq = s->seq;
  p.rtt = now - slot.sent;
  if (s->seq == p.probe_seq) p.probe_sent = 0;
  p.unanswered = 0;
  p.failed = false;
  p.hops = s->hops;
  p.hop_room = std::numeric_limits<std::size_t>::max();
  for (const auto& h : s->hops) p.hop_room = std::min<std::size_t>(p.hop_room, h.room);
  if (started_ && client_ && !conn_) try_connect(now);
}

void Channel::probe(Timestamp now) {
  if (now < next_probe_) return;
  // A quiet channel (no stream open, nothing sent or received for a second) probes 10x slower.
  bool quiet = ready_ && open_streams_.empty() && now - last_activity_ > kSecond;
  next_probe_ = now + (quiet ? 10 : 1) * config_.probe_interval;
  bool wake = started_ && !client_ && !conn_;
  for (auto& p : paths_) {
    if (p.probe_sent != 0 && ++p.unanswered >= config_.probe_loss_limit && !p.failed) {
      p.failed = true;
      channel_log()->info("channel to {}: path {}:{} failed ({} probes unanswered)",
                          identity::text_id(peer_), p.session, p.label, p.unanswered);
    }
    circuit::StatsBody sb;
    sb.seq = ++probe_seq_;
    p.probe_seq = sb.seq;
    p.probe_sent = now;
    p.sent_probes[sb.seq % p.sent_probes.size()] = {sb.seq, now};
    if (dp_.send(p.session, p.label, PacketType::kStats, circuit::encode_stats(sb)) ==
        SendStatus::kClosed) {
      p.failed = true;
      p.dead = true;
    }
    if (wake) (void)dp_.send(p.session, p.label, PacketType::kWake, {});
  }
  choose_path();
  check_want_circuits(now);
}

void Channel::check_want_circuits(Timestamp now) {
  if (!started_ || closed_) return;
  std::size_t healthy = healthy_paths();
  if (healthy >= config_.min_healthy_paths) return;
  if (want_asked_ && now - last_want_ < config_.want_circuits_interval) return;
  want_asked_ = true;
  last_want_ = now;
  observer_.on_want_circuits(peer_, healthy);
}

void Channel::on_session_writable(circuit::SessionId, Timestamp now) {
  flush(now);
}

Timestamp Channel::next_deadline() const {
  if (closed_) return kNever;
  Timestamp t = next_probe_;
  if (conn_) t = std::min(t, conn_->expiry());
  if (started_ && !conn_) t = std::min(t, start_time_ + config_.room_wait);
  if (ready_ && open_streams_.empty()) t = std::min(t, last_activity_ + config_.idle_timeout);
  return t;
}

void Channel::on_timer(Timestamp now) {
  now_ = now;
  if (closed_) return;
  if (conn_ && conn_->expiry() <= now) conn_->handle_expiry(now);
  probe(now);
  if (started_ && !conn_) {
    if (client_) try_connect(now);
    if (!conn_ && now - start_time_ >= config_.room_wait) {
      std::size_t best = 0;
      for (const auto& p : paths_) best = std::max(best, path_room(p));
      if (paths_.empty()) {
        fail(Errc::kUnreachable, "no circuit to " + identity::text_id(peer_));
      } else if (best < kMinChannelPacket) {
        fail(Errc::kTooLarge, "circuit room " + std::to_string(best) + " bytes < " +
                                  std::to_string(kMinChannelPacket) +
                                  " needed for a channel packet (path MTU too small)");
      } else {
        fail(Errc::kTimeout, "peer " + identity::text_id(peer_) + " did not open the channel");
      }
      return;
    }
  }
  if (ready_ && open_streams_.empty() && now - last_activity_ >= config_.idle_timeout) {
    close(now, "idle");
    return;
  }
  flush(now);
}

void Channel::flush(Timestamp now) {
  now_ = now;
  if (!conn_ || conn_->is_closed()) return;
  choose_path();
  if (!current_) return;  // nothing usable now: QUIC's timers retry once a path is back
  const ChannelPath& p = paths_[*current_];
  if (!dp_.can_send(p.session)) return;  // on_session_writable resumes
  std::size_t limit = std::min(packet_size_, path_room(p));
  conn_->write_packets(now, *this, limit);
}

std::span<std::uint8_t> Channel::buffer(std::size_t max_len) {
  if (out_.size() < max_len) out_.resize(max_len);
  return {out_.data(), max_len};
}

void Channel::commit(const transport::Path&, std::size_t len, std::uint8_t) {
  ByteView pkt(out_.data(), len);
  for (int attempt = 0; attempt < 2 && current_; ++attempt) {
    ChannelPath& p = paths_[*current_];
    SendStatus st = dp_.send(p.session, p.label, PacketType::kData, pkt);
    if (st == SendStatus::kSent) {
      ++p.packets_sent;
      return;
    }
    if (st == SendStatus::kTooBig) ++p.too_big;
    if (st == SendStatus::kBlocked) break;
    // The path cannot carry it (closed, or its room shrank): use another one.
    if (st == SendStatus::kClosed) p.failed = p.dead = true;
    if (st == SendStatus::kTooBig) p.hop_room = std::min(p.hop_room, len - 1);
    choose_path();
  }
  ++packets_dropped_;  // QUIC declares it lost and retransmits what it carried
}

Result<std::int64_t> Channel::open_stream() {
  if (!ready_ || closed_) return Err(Errc::kClosed, "channel not ready");
  auto id = conn_->open_bidi_stream();
  if (id) {
    open_streams_.insert(*id);
    last_activity_ = now_;
  }
  return id;
}

void Channel::consume_stream(std::int64_t id, std::size_t bytes) {
  if (conn_) conn_->consume_stream(id, bytes);
}

Result<std::size_t> Channel::write_stream(std::int64_t id, ByteView data, bool fin) {
  if (!ready_ || closed_) return Err(Errc::kClosed, "channel not ready");
  last_activity_ = now_;
  return conn_->write_stream(id, data, fin);
}

Result<void> Channel::reset_stream(std::int64_t id, std::uint64_t code) {
  if (!ready_ || closed_) return Err(Errc::kClosed, "channel not ready");
  return conn_->reset_stream(id, code);
}

std::size_t Channel::datagram_room() const {
  return ready_ && !closed_ ? conn_->datagram_room() : 0;
}

Result<void> Channel::send_datagram(ByteView data) {
  if (!ready_ || closed_) return Err(Errc::kClosed, "channel not ready");
  std::size_t room = datagram_room();
  if (data.size() > room) {
    return Err(Errc::kTooLarge, "datagram of " + std::to_string(data.size()) +
                                    " bytes > channel datagram room " + std::to_string(room));
  }
  last_activity_ = now_;
  auto r = conn_->send_datagram(data);
  switch (r.status) {
    case transport::DatagramStatus::kAccepted:
      return Ok();
    case transport::DatagramStatus::kBlocked:
      return Err(Errc::kLimit, "datagram queue full");
    case transport::DatagramStatus::kTooBig:
      return Err(Errc::kTooLarge, "datagram too big");
    case transport::DatagramStatus::kUnsupported:
    case transport::DatagramStatus::kInvalid:
      break;
  }
  return Err(Errc::kInvalidArgument, transport::datagram_status_name(r.status));
}

void Channel::close(Timestamp now, const std::string& reason) {
  if (closed_) return;
  if (conn_ && !conn_->is_closed()) {
    conn_->close(0, reason);
    flush(now);
    if (conn_->is_closed()) return;  // on_closed reported it
  }
  fail(Errc::kClosed, reason);
}

transport::ConnectionStats Channel::stats() const {
  return conn_ ? conn_->stats() : transport::ConnectionStats{};
}

void Channel::on_handshake_confirmed(const transport::PeerInfo&) {
  ready_ = true;
  ready_at_ = now_;
  last_activity_ = now_;
  channel_log()->info("channel to {} up ({} paths, packets of {} bytes)", identity::text_id(peer_),
                      paths_.size(), packet_size_);
  observer_.on_channel_ready(peer_);
}

namespace {
bool unidirectional(std::int64_t id) { return (id & 0x2) != 0; }
}  // namespace

void Channel::on_stream_data(std::int64_t id, ByteView data, bool fin) {
  if (unidirectional(id)) {  // the peer's anchor bytes: taken and dropped
    if (conn_ && config_.manual_stream_credit) conn_->consume_stream(id, data.size());
    return;
  }
  last_activity_ = now_;
  observer_.on_stream_data(peer_, id, data, fin);
}

void Channel::on_stream_opened(std::int64_t id) {
  if (unidirectional(id)) return;
  open_streams_.insert(id);
  observer_.on_stream_opened(peer_, id);
}

void Channel::on_stream_reset(std::int64_t id, std::uint64_t code) {
  if (unidirectional(id)) return;
  observer_.on_stream_reset(peer_, id, code);
}

void Channel::on_datagrams_need_anchor() {
  // A byte on our unidirectional stream: stream data arms QUIC's retransmission timer, which
  // DATAGRAMs alone do not in ngtcp2 0.12.1 (see transport::ConnectionObserver). VPN traffic is
  // nothing but DATAGRAMs.
  if (!conn_ || closed_) return;
  if (anchor_stream_ < 0) {
    auto id = conn_->open_uni_stream();
    if (!id) return;
    anchor_stream_ = *id;
  }
  static const std::uint8_t kAnchor = 0;
  (void)conn_->write_stream(anchor_stream_, ByteView(&kAnchor, 1), false);
}

void Channel::on_congestion_stalled() {
  // The backstop: the connection can never send again. Close it; the channel reopens on use.
  channel_log()->warn("channel to {}: the QUIC connection stalled; closing it",
                      identity::text_id(peer_));
  if (conn_) conn_->close(0, "transport stalled");
}

void Channel::on_stream_closed(std::int64_t id, std::uint64_t) {
  if (unidirectional(id)) return;
  open_streams_.erase(id);
  last_activity_ = now_;
  observer_.on_stream_closed(peer_, id);
}

void Channel::on_stream_writable(std::int64_t id) {
  if (unidirectional(id)) return;
  observer_.on_stream_writable(peer_, id);
}

void Channel::on_datagram(ByteView data) {
  last_activity_ = now_;
  observer_.on_datagram(peer_, data);
}

void Channel::on_closed(const transport::CloseInfo& info) {
  if (closed_) return;
  closed_ = true;
  error_ = Error{errc_of(info), info.to_string()};
  channel_log()->info("channel to {} closed: {}", identity::text_id(peer_), info.to_string());
  observer_.on_channel_closed(peer_, *error_);
}

}  // namespace qc::channel
