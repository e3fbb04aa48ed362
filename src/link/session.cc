#include "link/session.h"

#include <chrono>

#include "common/log.h"

namespace qc::link {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("link");
  return l;
}
}  // namespace

Session::Session(SessionHost& host, asio::io_context& io, transport::Endpoint& endpoint,
                 const SessionConfig& config, Id id, bool dialled)
    : host_(host), endpoint_(endpoint), config_(config), id_(id), dialled_(dialled), timer_(io) {}

Session::~Session() {
  timer_.cancel();
  if (transport::Connection* c = connection()) c->set_observer(nullptr);
}

void Session::attach(transport::Endpoint::Handle handle) {
  handle_ = handle;
  conn_ = endpoint_.connection(handle);
}

transport::Connection* Session::connection() {
  return state_ == State::kClosed ? nullptr : conn_;
}

transport::Address Session::remote_address() const {
  return conn_ != nullptr ? conn_->path().remote : transport::Address();
}

transport::ConnectionStats Session::transport_stats() const {
  return conn_ != nullptr ? conn_->stats() : transport::ConnectionStats{};
}

Duration Session::rtt() const {
  return conn_ != nullptr ? conn_->stats().smoothed_rtt : 0;
}

void Session::on_handshake_confirmed(const transport::PeerInfo& peer) {
  peer_id_ = peer.node_id;
  peer_text_id_ = identity::text_id(peer_id_);
  control_ = ControlChannel(peer_text_id_);
  state_ = State::kHello;
  logger()->debug("session {}: TLS verified {} at {}", id_, peer_text_id_,
                  remote_address().to_string());
  host_.on_session_verified(*this);
  if (state_ != State::kHello || conn_ == nullptr || conn_->is_closed()) return;
  arm_timer(config_.hello_timeout);
  if (dialled_) {
    auto stream = conn_->open_bidi_stream();
    if (!stream) {
      close(CloseCode::kProtocolViolation,
            "cannot open the control stream: " + stream.error().message);
      return;
    }
    control_stream_ = *stream;
    send_hello();
  }
}

void Session::send_hello() {
  ControlMessage m;
  Hello* h = m.mutable_hello();
  h->set_version(kProtocolVersion);
  h->set_node_text_id(config_.local_text_id);
  h->set_interface_id(config_.interface_id);
  h->set_listen_port(config_.listen_port);
  h->set_software("quic-channel 0.1.0");
  hello_sent_ = true;
  (void)queue_frame(m);
}

Result<void> Session::queue_frame(const ControlMessage& msg) {
  if (conn_ == nullptr || control_stream_ < 0) return Err(Errc::kClosed, "session not open");
  QC_TRY(encode_frame(msg, backlog_));
  flush_control();
  if (backlog_.size() > config_.max_control_backlog) {
    close(CloseCode::kBacklog, "peer does not read its control stream");
    return Err(Errc::kLimit, "control stream backlog over the limit; session closed");
  }
  return Ok();
}

void Session::flush_control() {
  if (backlog_.empty() || conn_ == nullptr || conn_->is_closed()) return;
  auto n = conn_->write_stream(control_stream_, backlog_);
  if (!n) return;
  if (*n == backlog_.size()) {
    backlog_.clear();
  } else {
    backlog_.erase(backlog_.begin(), backlog_.begin() + static_cast<std::ptrdiff_t>(*n));
  }
  endpoint_.wake(handle_);
}

Result<void> Session::send_control(const ControlMessage& msg) {
  if (state_ != State::kUp) return Err(Errc::kClosed, "session is not up");
  if (msg.body_case() == ControlMessage::kHello) {
    return Err(Errc::kInvalidArgument, "Hello is sent by the session itself");
  }
  return queue_frame(msg);
}

transport::DatagramStatus Session::send_datagram(ByteView data) {
  if (state_ != State::kUp || conn_ == nullptr) return transport::DatagramStatus::kInvalid;
  auto r = conn_->send_datagram(data);
  if (r.status == transport::DatagramStatus::kAccepted) endpoint_.wake(handle_);
  return r.status;
}

std::size_t Session::datagram_room() {
  return state_ == State::kUp && conn_ != nullptr ? conn_->datagram_room() : 0;
}

void Session::close(CloseCode code, const std::string& reason) {
  if (state_ == State::kClosed || conn_ == nullptr) return;
  endpoint_.close(handle_, static_cast<std::uint64_t>(code), reason);
}

void Session::violation(const Violation& v) {
  logger()->warn("closing session with {} ({}): {}: {}",
                 peer_text_id_.empty() ? "?" : peer_text_id_, remote_address().to_string(),
                 close_code_name(v.code), v.reason);
  close(v.code, v.reason);
}

void Session::on_stream_data(std::int64_t id, ByteView data, bool fin) {
  if (state_ == State::kClosed || state_ == State::kHandshake) return;
  if (control_stream_ < 0 && !dialled_ && id == 0) control_stream_ = 0;
  if (id != control_stream_) {
    if (state_ == State::kUp) host_.on_session_stream_data(*this, id, data, fin);
    return;
  }
  if (auto v = control_.receive(data, fin, [this](ControlMessage& m) { deliver(m); })) {
    violation(*v);
  }
}

void Session::deliver(ControlMessage& msg) {
  if (state_ == State::kClosed) return;
  switch (msg.body_case()) {
    case ControlMessage::kHello:
      if (!dialled_) send_hello();
      state_ = State::kUp;
      arm_timer(config_.ping_interval);
      host_.on_session_up(*this);
      return;
    case ControlMessage::kPing: {
      ControlMessage pong;
      pong.mutable_pong()->set_nonce(msg.ping().nonce());
      (void)queue_frame(pong);
      return;
    }
    case ControlMessage::kPong:
      if (msg.pong().nonce() == ping_nonce_ && ping_sent_ != 0) {
        ping_rtt_ = SystemClock::instance().now() - ping_sent_;
        ping_sent_ = 0;
      }
      return;
    case ControlMessage::kGoodbye:
      logger()->info("{} says goodbye: {}", peer_text_id_, printable(msg.goodbye().reason()));
      close(CloseCode::kNone, "goodbye");
      return;
    default:
      host_.on_session_control(*this, msg);
      return;
  }
}

void Session::on_stream_reset(std::int64_t id, std::uint64_t code) {
  if (id == control_stream_ && state_ != State::kClosed) {
    violation(Violation{CloseCode::kProtocolViolation,
                        "control stream reset by the peer (code " + std::to_string(code) + ")"});
  }
}

void Session::on_stream_writable(std::int64_t id) {
  if (id == control_stream_) {
    flush_control();
  } else if (state_ == State::kUp) {
    host_.on_session_stream_writable(*this, id);
  }
}

Result<std::int64_t> Session::open_stream() {
  if (state_ != State::kUp || conn_ == nullptr) return Err(Errc::kClosed, "session is not up");
  return conn_->open_bidi_stream();
}

Result<std::size_t> Session::write_stream(std::int64_t id, ByteView data, bool fin) {
  if (state_ != State::kUp || conn_ == nullptr) return Err(Errc::kClosed, "session is not up");
  if (id == control_stream_) return Err(Errc::kInvalidArgument, "use send_control");
  auto n = conn_->write_stream(id, data, fin);
  if (n) endpoint_.wake(handle_);
  return n;
}

void Session::on_datagram(ByteView data) {
  if (state_ == State::kUp) host_.on_session_datagram(*this, data);
}

void Session::on_congestion_stalled() {
  logger()->warn("session with {} ({}): the QUIC connection stalled; closing it so it is "
                 "re-dialled", peer_text_id_.empty() ? "?" : peer_text_id_,
                 remote_address().to_string());
  close(CloseCode::kStalled, "transport stalled");
}

void Session::on_datagrams_need_anchor() {
  // A Pong that answers no Ping (nonce 0) is a few bytes of control-stream data the peer
  // ignores: enough to arm the retransmission timer for the DATAGRAMs sent with it.
  if (state_ != State::kUp || !backlog_.empty()) return;  // data waiting already serves
  ControlMessage pong;
  pong.mutable_pong()->set_nonce(0);
  (void)queue_frame(pong);
}

void Session::on_datagrams_writable() {
  if (state_ == State::kUp) host_.on_session_datagrams_writable(*this);
}

void Session::on_closed(const transport::CloseInfo& info) {
  state_ = State::kClosed;
  timer_.cancel();
  host_.on_session_closed(*this, info);
  conn_ = nullptr;
}

void Session::arm_timer(Duration after) {
  timer_.expires_after(std::chrono::nanoseconds(after));
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](asio::error_code ec) {
    if (!ec && !alive.expired()) on_timer();
  });
}

void Session::on_timer() {
  if (state_ == State::kHello) {
    close(CloseCode::kHelloTimeout, "no Hello within the timeout");
    return;
  }
  if (state_ != State::kUp) return;
  ControlMessage ping;
  ping.mutable_ping()->set_nonce(++ping_nonce_);
  ping_sent_ = SystemClock::instance().now();
  (void)queue_frame(ping);
  arm_timer(config_.ping_interval);
}

}  // namespace qc::link
