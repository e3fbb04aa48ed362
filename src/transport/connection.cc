#include "transport/connection.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cassert>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/log.h"
#include "transport/connection_callbacks.h"

namespace qc::transport {

namespace {

constexpr const char* kPriority =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "+AES-256-GCM:+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1";
constexpr std::size_t kClientInitialDcidLen = 18;
constexpr std::size_t kMaxBurstPackets = 64;
constexpr std::size_t kPacketNumberReserve = 2;

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("transport");
  return l;
}

ngtcp2_path to_ngtcp2(const Path& p) {
  ngtcp2_path np{};
  np.local.addr = const_cast<ngtcp2_sockaddr*>(p.local.sockaddr_ptr());
  np.local.addrlen = p.local.size();
  np.remote.addr = const_cast<ngtcp2_sockaddr*>(p.remote.sockaddr_ptr());
  np.remote.addrlen = p.remote.size();
  return np;
}

Path from_ngtcp2(const ngtcp2_path& p) {
  return Path{Address(p.local.addr, p.local.addrlen), Address(p.remote.addr, p.remote.addrlen)};
}

ngtcp2_cc_algo cc_algo(CongestionControl c) {
  switch (c) {
    case CongestionControl::kReno:
      return NGTCP2_CC_ALGO_RENO;
    case CongestionControl::kCubic:
      return NGTCP2_CC_ALGO_CUBIC;
    case CongestionControl::kBbr:
      return NGTCP2_CC_ALGO_BBR;
    case CongestionControl::kBbr2:
      return NGTCP2_CC_ALGO_BBR2;
  }
  return NGTCP2_CC_ALGO_CUBIC;
}

void log_printf_cb(void*, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
}

std::string alert_text(std::uint8_t alert) {
  const char* name = gnutls_alert_get_strname(static_cast<gnutls_alert_description_t>(alert));
  return "TLS alert " + std::to_string(alert) + " (" + (name ? name : "unknown") + ")";
}

}  // namespace

const char* datagram_status_name(DatagramStatus s) {
  switch (s) {
    case DatagramStatus::kAccepted:
      return "accepted";
    case DatagramStatus::kBlocked:
      return "blocked";
    case DatagramStatus::kTooBig:
      return "too big";
    case DatagramStatus::kUnsupported:
      return "unsupported";
    case DatagramStatus::kInvalid:
      return "invalid";
  }
  return "?";
}

std::string CloseInfo::to_string() const {
  const char* k = "local";
  switch (kind) {
    case Kind::kLocal:
      k = "closed locally";
      break;
    case Kind::kPeer:
      k = "closed by peer";
      break;
    case Kind::kIdleTimeout:
      k = "idle timeout";
      break;
    case Kind::kHandshakeTimeout:
      k = "handshake timeout";
      break;
    case Kind::kTlsRefused:
      k = "TLS refused";
      break;
  }
  std::string s = std::string(k) + (application ? ", application error " : ", transport error ") +
                  std::to_string(error_code);
  if (!reason.empty()) s += ": " + reason;
  return s;
}

Connection::Connection(const ConnectionSettings& settings, ConnectionObserver* observer)
    : settings_(settings), observer_(observer), impl_(std::make_unique<Impl>()) {
  dgram_ring_.resize(std::max<std::size_t>(1, settings_.datagram_queue));
}

Connection::~Connection() = default;

bool Connection::is_client_initial(ByteView packet) {
  ngtcp2_pkt_hd hd;
  return ngtcp2_accept(&hd, packet.data(), packet.size()) == 0;
}

Result<std::unique_ptr<Connection>> Connection::connect(const ConnectionSettings& settings,
                                                        const Path& path,
                                                        ConnectionObserver* observer,
                                                        Timestamp now) {
  assert(settings.role == Role::kClient);
  std::unique_ptr<Connection> c(new Connection(settings, observer));
  QC_TRY(c->create(path, {}, now));
  return c;
}

Result<std::unique_ptr<Connection>> Connection::accept(const ConnectionSettings& settings,
                                                       const Path& path, ByteView first_packet,
                                                       ConnectionObserver* observer,
                                                       Timestamp now) {
  assert(settings.role == Role::kServer);
  std::unique_ptr<Connection> c(new Connection(settings, observer));
  QC_TRY(c->create(path, first_packet, now));
  return c;
}

Result<void> Connection::init_tls(const std::string& sni) {
  if (!settings_.tls) return Err(Errc::kInvalidArgument, "no TLS credentials");
  bool server = settings_.role == Role::kServer;
  gnutls_session_t& s = impl_->session;
  unsigned flags = server ? GNUTLS_SERVER : GNUTLS_CLIENT;
  int rv = gnutls_init(&s, flags);
  if (rv < 0) return Err(Errc::kCrypto, std::string("gnutls_init: ") + gnutls_strerror(rv));
  rv = gnutls_priority_set_direct(s, kPriority, nullptr);
  if (rv < 0) return Err(Errc::kCrypto, std::string("priority: ") + gnutls_strerror(rv));
  rv = server ? ngtcp2_crypto_gnutls_configure_server_session(s)
              : ngtcp2_crypto_gnutls_configure_client_session(s);
  if (rv != 0) return Err(Errc::kCrypto, "ngtcp2_crypto_gnutls_configure_session failed");
  impl_->conn_ref.get_conn = &ConnectionCallbacks::get_conn;
  impl_->conn_ref.user_data = this;
  gnutls_session_set_ptr(s, &impl_->conn_ref);
  rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, settings_.tls->credentials());
  if (rv < 0) return Err(Errc::kCrypto, std::string("credentials: ") + gnutls_strerror(rv));
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(settings_.alpn.data()),
                      static_cast<unsigned>(settings_.alpn.size())};
  gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  gnutls_session_set_verify_function(s, &ConnectionCallbacks::verify);
  if (server) {
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    // Do not advertise our CA: a client with a foreign chain still sends it, so the refusal
    // names the real reason (unknown issuer) instead of "certificate required".
    gnutls_certificate_send_x509_rdn_sequence(s, 1);
  } else if (!sni.empty()) {
    gnutls_server_name_set(s, GNUTLS_NAME_DNS, sni.data(), sni.size());
  }
  return Ok();
}

Result<void> Connection::create(const Path& path, ByteView first_packet, Timestamp now) {
  bool server = settings_.role == Role::kServer;
  QC_TRY(init_tls(settings_.sni));

  ngtcp2_settings st;
  ngtcp2_settings_default(&st);
  st.initial_ts = now;
  st.cc_algo = cc_algo(settings_.cc);
  st.max_tx_udp_payload_size = settings_.max_tx_udp_payload_size;
  st.no_tx_udp_payload_size_shaping = settings_.payload_shaping ? 0 : 1;
  st.no_pmtud = settings_.pmtud ? 0 : 1;
  st.handshake_timeout = settings_.handshake_timeout;
  st.max_window = settings_.max_window;
  st.max_stream_window = settings_.max_stream_window;
  if (std::getenv("QC_NGTCP2_LOG") != nullptr) st.log_printf = log_printf_cb;

  ngtcp2_transport_params tp;
  ngtcp2_transport_params_default(&tp);
  tp.initial_max_data = settings_.initial_max_data;
  tp.initial_max_stream_data_bidi_local = settings_.initial_max_stream_data;
  tp.initial_max_stream_data_bidi_remote = settings_.initial_max_stream_data;
  tp.initial_max_stream_data_uni = settings_.initial_max_stream_data;
  tp.initial_max_streams_bidi = settings_.max_streams_bidi;
  tp.initial_max_streams_uni = settings_.max_streams_uni;
  tp.max_idle_timeout = settings_.idle_timeout;
  tp.max_datagram_frame_size = settings_.max_datagram_frame_size;
  tp.active_connection_id_limit = 4;

  ngtcp2_callbacks cb{};
  ConnectionCallbacks::install(cb, server);

  ngtcp2_path np = to_ngtcp2(path);
  ngtcp2_cid scid;
  scid.datalen = settings_.cid_length;
  gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
  int rv;
  if (server) {
    ngtcp2_pkt_hd hd;
    if (ngtcp2_accept(&hd, first_packet.data(), first_packet.size()) != 0) {
      return Err(Errc::kProtocol, "not a client Initial packet");
    }
    tp.original_dcid = hd.dcid;
    tp.stateless_reset_token_present = 1;
    if (!ConnectionCallbacks::reset_token(settings_, scid, tp.stateless_reset_token)) {
      return Err(Errc::kCrypto, "cannot make a stateless reset token");
    }
    original_dcid_.assign(hd.dcid.data, hd.dcid.data + hd.dcid.datalen);
    rv = ngtcp2_conn_server_new(&impl_->conn, &hd.scid, &scid, &np, hd.version, &cb, &st, &tp,
                                nullptr, this);
  } else {
    ngtcp2_cid dcid;
    dcid.datalen = kClientInitialDcidLen;
    gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
    rv = ngtcp2_conn_client_new(&impl_->conn, &dcid, &scid, &np, NGTCP2_PROTO_VER_V1, &cb, &st, &tp,
                                nullptr, this);
  }
  if (rv != 0) return Err(Errc::kInternal, std::string("ngtcp2_conn_new: ") + ngtcp2_strerror(rv));
  ngtcp2_conn_set_tls_native_handle(impl_->conn, impl_->session);
  if (settings_.keep_alive > 0)
    ngtcp2_conn_set_keep_alive_timeout(impl_->conn, settings_.keep_alive);
  return Ok();
}

bool Connection::verify_peer() {
  gnutls_session_t s = impl_->session;
  std::string remote = path().remote.to_string();
  unsigned ncerts = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(s, &ncerts);
  if (certs == nullptr || ncerts == 0) {
    refusal_ = "peer presented no certificate";
  } else {
    unsigned status = 0;
    int rv = gnutls_certificate_verify_peers3(s, nullptr, &status);
    if (rv < 0) {
      refusal_ = std::string("certificate check failed: ") + gnutls_strerror(rv);
    } else if (status != 0) {
      gnutls_datum_t out{};
      gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
      refusal_ = std::string("certificate chain does not verify to our CA: ") +
                 (out.data ? reinterpret_cast<const char*>(out.data) : "unknown reason");
      gnutls_free(out.data);
    } else {
      auto id = identity::node_id_of_cert_der(ByteView(certs[0].data, certs[0].size));
      if (!id) {
        refusal_ = "cannot compute the peer's node id: " + id.error().message;
      } else if (settings_.expected_peer && *settings_.expected_peer != *id) {
        refusal_ = "peer is " + identity::text_id(*id) + ", expected " +
                   identity::text_id(*settings_.expected_peer);
      } else {
        peer_.node_id = *id;
        peer_.chain_der.clear();
        for (unsigned i = 0; i < ncerts; ++i) {
          peer_.chain_der.emplace_back(certs[i].data, certs[i].data + certs[i].size);
        }
        logger()->debug("peer {} verified as {}", remote, identity::text_id(peer_.node_id));
        return true;
      }
    }
  }
  logger()->warn("refused peer {}: {}", remote, refusal_);
  return false;
}

void Connection::set_cid_registry(ConnectionIdRegistry* registry, std::uint64_t tag) {
  registry_ = registry;
  registry_tag_ = tag;
}

std::vector<Bytes> Connection::local_cids() const {
  std::vector<Bytes> out;
  std::size_t n = ngtcp2_conn_get_num_scid(impl_->conn);
  std::vector<ngtcp2_cid> cids(n);
  n = ngtcp2_conn_get_scid(impl_->conn, cids.data());
  for (std::size_t i = 0; i < n; ++i)
    out.emplace_back(cids[i].data, cids[i].data + cids[i].datalen);
  if (!original_dcid_.empty()) out.push_back(original_dcid_);
  return out;
}

Path Connection::path() const {
  return from_ngtcp2(*ngtcp2_conn_get_path(impl_->conn));
}

Result<void> Connection::read_packet(const Path& path, ByteView packet, std::uint8_t ecn,
                                     Timestamp now) {
  if (state_ == State::kClosed) return Err(Errc::kClosed, "connection closed");
  if (state_ == State::kClosePending) return Ok();
  ngtcp2_path np = to_ngtcp2(path);
  ngtcp2_pkt_info pi{};
  pi.ecn = ecn;
  ++counters_.packets_received;
  int rv = ngtcp2_conn_read_pkt(impl_->conn, &np, &pi, packet.data(), packet.size(), now);
  if (rv == 0) {
    if (stall_since_ != 0) check_stall(now);  // an ACK may have drained the window
    return Ok();
  }
  fail(rv, now);
  return Err(Errc::kProtocol, ngtcp2_strerror(rv));
}

void Connection::fail(int rv, Timestamp /*now*/) {
  if (state_ == State::kClosed) return;
  std::string remote = path().remote.to_string();
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING) {
    ngtcp2_connection_close_error ce;
    ngtcp2_conn_get_connection_close_error(impl_->conn, &ce);
    CloseInfo info;
    info.kind = CloseInfo::Kind::kPeer;
    info.application = ce.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
    info.error_code = ce.error_code;
    if (ce.reason != nullptr)
      info.reason.assign(reinterpret_cast<const char*>(ce.reason), ce.reasonlen);
    if (got_stateless_reset_) info.reason = "stateless reset (the peer lost the connection)";
    if (!info.application && ce.error_code >= NGTCP2_CRYPTO_ERROR && ce.error_code < 0x200) {
      info.kind = CloseInfo::Kind::kTlsRefused;
      std::string alert = alert_text(static_cast<std::uint8_t>(ce.error_code & 0xff));
      info.reason = info.reason.empty() ? alert : alert + ": " + info.reason;
      logger()->warn("peer {} refused the handshake: {}", remote, info.reason);
    }
    finish(info);
    return;
  }
  if (rv == NGTCP2_ERR_DROP_CONN) {
    finish(CloseInfo{CloseInfo::Kind::kLocal, false, 0, "dropped"});
    return;
  }
  // A local error: send CONNECTION_CLOSE at the next write_packets().
  close_is_transport_ = true;
  close_code_ = 0;
  if (rv == NGTCP2_ERR_CRYPTO) {
    close_tls_alert_ = ngtcp2_conn_get_tls_alert(impl_->conn);
    close_reason_ = refusal_;  // the alert itself says the rest
    if (refusal_.empty()) {
      logger()->warn("handshake with {} failed: {}", remote, alert_text(close_tls_alert_));
    }
  } else {
    close_tls_alert_ = 0;
    close_code_ = static_cast<std::uint64_t>(static_cast<std::int64_t>(rv));
    close_reason_ = ngtcp2_strerror(rv);
    logger()->warn("connection to {} failed: {}", remote, close_reason_);
  }
  state_ = State::kClosePending;
  if (rv == NGTCP2_ERR_CRYPTO) {
    std::string alert = alert_text(close_tls_alert_);
    close_info_ = CloseInfo{CloseInfo::Kind::kTlsRefused, false, 0x100u + close_tls_alert_,
                            refusal_.empty() ? alert : alert + ": " + refusal_};
  } else {
    close_info_ = CloseInfo{CloseInfo::Kind::kLocal, false, 0, close_reason_};
  }
}

void Connection::close(std::uint64_t app_error_code, std::string_view reason) {
  if (state_ == State::kClosed || state_ == State::kClosePending) return;
  close_is_transport_ = false;
  close_code_ = app_error_code;
  close_reason_ = std::string(reason.substr(0, 512));
  close_info_ = CloseInfo{CloseInfo::Kind::kLocal, true, app_error_code, close_reason_};
  state_ = State::kClosePending;
}

void Connection::write_close(Timestamp now, PacketSink& sink) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  auto* reason = reinterpret_cast<const uint8_t*>(close_reason_.data());
  if (!close_is_transport_) {
    ngtcp2_connection_close_error_set_application_error(&ccerr, close_code_, reason,
                                                        close_reason_.size());
  } else if (close_tls_alert_ != 0) {
    ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, close_tls_alert_, reason,
                                                                close_reason_.size());
  } else {
    ngtcp2_connection_close_error_set_transport_error_liberr(
        &ccerr, static_cast<int>(static_cast<std::int64_t>(close_code_)), reason,
        close_reason_.size());
  }
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  std::size_t max = std::max<std::size_t>(1200, path_max_udp_payload());
  std::span<std::uint8_t> buf = sink.buffer(max);
  ngtcp2_ssize n =
      ngtcp2_conn_write_connection_close(impl_->conn, &ps.path, &pi, buf.data(), max, &ccerr, now);
  if (n > 0) sink.commit(from_ngtcp2(ps.path), static_cast<std::size_t>(n), pi.ecn);
  finish(close_info_);
}

void Connection::finish(const CloseInfo& info) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  close_info_ = info;
  if (observer_ != nullptr) observer_->on_closed(info);
}

Timestamp Connection::expiry() const {
  if (state_ == State::kClosed) return kNever;
  if (state_ == State::kClosePending) return 0;
  Timestamp t = ngtcp2_conn_get_expiry(impl_->conn);
  if (stall_since_ != 0 && !stall_reported_) t = std::min(t, stall_since_ + stall_limit());
  return t;
}

Duration Connection::stall_limit() const {
  // ACKs for what is in flight come within a PTO if anything arrived; 3 of them on a slow path.
  return std::max<Duration>(kStallLimit, 3 * ngtcp2_conn_get_pto(impl_->conn));
}

void Connection::check_stall(Timestamp now) {
  if (state_ != State::kOpen || stall_reported_) return;
  ngtcp2_conn_stat cs;
  ngtcp2_conn_get_conn_stat(impl_->conn, &cs);
  bool stuck = cs.cwnd > 0 && cs.bytes_in_flight >= cs.cwnd &&
               (cs.loss_detection_timer == UINT64_MAX || cs.loss_detection_timer == 0);
  if (!stuck) {
    stall_since_ = 0;
    return;
  }
  // Stuck now, but bytes left the window since the watch began (acknowledged or declared
  // lost): two stuck moments with progress between them are not one long stall.
  if (stall_since_ == 0 || cs.bytes_in_flight < stall_in_flight_) {
    stall_since_ = now;
    stall_in_flight_ = cs.bytes_in_flight;
    return;
  }
  stall_in_flight_ = cs.bytes_in_flight;  // padded ACK-only packets only add to it
  if (now - stall_since_ < stall_limit()) return;
  stall_reported_ = true;
  logger()->warn("connection to {}: congestion window full ({} of {} bytes in flight) with "
                 "nothing in flight that could time out, for {} ms: stalled",
                 path().remote.to_string(), cs.bytes_in_flight, cs.cwnd,
                 (now - stall_since_) / kMillisecond);
  if (observer_ != nullptr) observer_->on_congestion_stalled();
}

void Connection::handle_expiry(Timestamp now) {
  if (state_ == State::kClosed || state_ == State::kClosePending) return;
  int rv = ngtcp2_conn_handle_expiry(impl_->conn, now);
  if (rv == 0) {
    check_stall(now);
    return;
  }
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    logger()->debug("connection to {} idle for too long", path().remote.to_string());
    finish(CloseInfo{CloseInfo::Kind::kIdleTimeout, false, 0, "idle timeout"});
    return;
  }
  if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    logger()->info("handshake with {} timed out", path().remote.to_string());
    finish(CloseInfo{CloseInfo::Kind::kHandshakeTimeout, false, 0, "handshake timeout"});
    return;
  }
  fail(rv, now);
}

bool Connection::wants_write() const {
  if (state_ == State::kClosePending) return true;
  return state_ != State::kClosed && (dgram_count_ > 0 || !active_.empty());
}

std::size_t Connection::path_max_udp_payload() const {
  return ngtcp2_conn_get_path_max_tx_udp_payload_size(impl_->conn);
}

std::size_t Connection::datagram_room() const {
  if (!completed_ || state_ == State::kClosed) return 0;
  const ngtcp2_transport_params* rp = ngtcp2_conn_get_remote_transport_params(impl_->conn);
  if (rp == nullptr || rp->max_datagram_frame_size == 0) return 0;
  std::size_t overhead = 20 + ngtcp2_conn_get_dcid(impl_->conn)->datalen + kPacketNumberReserve;
  std::size_t path_max = path_max_udp_payload();
  std::size_t room = path_max > overhead ? path_max - overhead : 0;
  // The frame limit counts the frame type (1) and the length varint (up to 4 here).
  std::uint64_t frame_cap = rp->max_datagram_frame_size > 5 ? rp->max_datagram_frame_size - 5 : 0;
  return static_cast<std::size_t>(std::min<std::uint64_t>(room, frame_cap));
}

void Connection::check_path_mtu() {
  std::size_t now_max = path_max_udp_payload();
  if (now_max == last_path_max_) return;
  last_path_max_ = now_max;
  if (observer_ != nullptr && confirmed_) observer_->on_path_mtu_changed(now_max, datagram_room());
}

Connection::Stream* Connection::stream(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : &it->second;
}

Connection::Stream& Connection::ensure_stream(std::int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) it = streams_.emplace(id, Stream(settings_.stream_send_buffer)).first;
  return it->second;
}

void Connection::activate(std::int64_t id, Stream& s) {
  if (s.active) return;
  s.active = true;
  active_.push_back(id);
}

Result<std::int64_t> Connection::open_bidi_stream() { return open_stream(false); }

Result<std::int64_t> Connection::open_uni_stream() { return open_stream(true); }

Result<std::int64_t> Connection::open_stream(bool uni) {
  if (state_ != State::kOpen) return Err(Errc::kClosed, "connection not open");
  std::int64_t id = -1;
  int rv = uni ? ngtcp2_conn_open_uni_stream(impl_->conn, &id, nullptr)
               : ngtcp2_conn_open_bidi_stream(impl_->conn, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return Err(Errc::kLimit, "peer's stream limit reached");
  if (rv != 0) return Err(Errc::kInternal, std::string("open stream: ") + ngtcp2_strerror(rv));
  ensure_stream(id);
  return id;
}

Result<std::size_t> Connection::write_stream(std::int64_t id, ByteView data, bool fin) {
  if (state_ != State::kOpen) return Err(Errc::kClosed, "connection not open");
  Stream* s = stream(id);
  if (s == nullptr) return Err(Errc::kInvalidArgument, "unknown stream " + std::to_string(id));
  if (s->fin_requested || s->write_closed) {
    return Err(Errc::kInvalidArgument, "stream " + std::to_string(id) + " is finished");
  }
  std::size_t taken = s->send.append(data);
  if (taken < data.size()) {
    s->want_writable = true;
  } else if (fin) {
    s->fin_requested = true;
  }
  if (taken > 0 || s->fin_requested) activate(id, *s);
  return taken;
}

void Connection::consume_stream(std::int64_t id, std::size_t bytes) {
  if (state_ == State::kClosed || bytes == 0) return;
  // Unknown or finished streams are fine: ngtcp2 ignores the stream part; the connection
  // window is credited either way.
  ngtcp2_conn_extend_max_stream_offset(impl_->conn, id, bytes);
  ngtcp2_conn_extend_max_offset(impl_->conn, bytes);
}

Result<void> Connection::reset_stream(std::int64_t id, std::uint64_t code) {
  if (state_ != State::kOpen) return Err(Errc::kClosed, "connection not open");
  int rv = ngtcp2_conn_shutdown_stream(impl_->conn, id, code);
  if (rv != 0) return Err(Errc::kInvalidArgument, std::string("reset: ") + ngtcp2_strerror(rv));
  if (Stream* s = stream(id)) s->write_closed = true;
  return Ok();
}

SendDatagramResult Connection::send_datagram(ByteView data) {
  if (state_ != State::kOpen || data.empty()) return {DatagramStatus::kInvalid};
  std::size_t room = datagram_room();
  if (room == 0) return {DatagramStatus::kUnsupported};
  if (data.size() > room) return {DatagramStatus::kTooBig};
  if (dgram_count_ == dgram_ring_.size()) {
    dgram_want_writable_ = true;
    return {DatagramStatus::kBlocked};
  }
  DatagramSlot& slot = dgram_ring_[(dgram_head_ + dgram_count_) % dgram_ring_.size()];
  slot.data.assign(data.begin(), data.end());
  slot.id = next_dgram_id_++;
  ++dgram_count_;
  return {DatagramStatus::kAccepted, slot.id};
}

std::uint64_t Connection::unanchored_limit(std::uint64_t cwnd) const {
  return cwnd / (settings_.cc == CongestionControl::kReno ? 3 : 2);
}

long Connection::write_one(std::uint8_t* dst, std::size_t dstlen, void* path_storage, void* pinfo,
                           Timestamp now, bool anchor_only) {
  auto* ps = static_cast<ngtcp2_path_storage*>(path_storage);
  auto* pi = static_cast<ngtcp2_pkt_info*>(pinfo);
  ngtcp2_conn* conn = impl_->conn;
  // 1. DATAGRAMs first: they carry other nodes' traffic (circuits) and must not queue.
  // Something PTO-eliciting must go out (see on_datagrams_need_anchor) before more DATAGRAMs
  //  - when no retransmission timer runs, and
  //  - before the DATAGRAM packets sent since the last stream data would pass half the window
  //    (a third with Reno). When that stream data is acknowledged, older packets are
  //    acknowledged, declared lost or under a loss timer, but the DATAGRAMs sent after it are in
  //    flight with nothing to time them out; if they all are lost (a burst loss) and fill the
  //    window, nothing can be sent ever again. Kept under what is left of the window after a
  //    loss (cubic keeps 70 %, Reno 50 %, BBR cuts only in ProbeRTT), they leave room for the
  //    next anchor. Each anchor is a packet of its own, so not less often.
  // It is unsent stream data if there is some that may go, else an anchor the owner writes
  // now. Stream data held by flow control (the stream's or the connection's) cannot serve, and
  // then DATAGRAMs go without it.
  bool anchor_first = false;
  if (confirmed_ && (dgram_count_ > 0 || anchor_only)) {
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(conn, &cs);
    // The first rule's anchor is due by the end of this send (write_packets puts it last, where
    // it protects the whole burst and does not split the GSO send), or before the window is
    // about to fill, while there is room for it. (At least one DATAGRAM between two anchors: in
    // a window of under 3 packets the second rule would otherwise send anchors only.)
    if (cs.loss_detection_timer == UINT64_MAX && dgram_count_ > 0) anchor_due_ = true;
    if (anchor_only ||
        (anchor_due_ && cs.bytes_in_flight + 2 * cs.max_tx_udp_payload_size >= cs.cwnd) ||
        (dgram_bytes_unanchored_ > 0 &&
         dgram_bytes_unanchored_ + cs.max_tx_udp_payload_size > unanchored_limit(cs.cwnd))) {
      // With the connection's credit used up no stream data can go, and an anchor written now
      // would only pile up behind it: the DATAGRAMs go unanchored (the stall watch is the
      // backstop).
      bool credit = ngtcp2_conn_get_max_data_left(conn) > 0;
      auto sendable = [&] {
        for (std::int64_t id : active_) {
          const Stream* s = stream(id);
          if (s != nullptr && !s->blocked && !s->write_closed &&
              (s->send.unsent_bytes() > 0 || (s->fin_requested && !s->fin_sent)))
            return true;
        }
        return false;
      };
      anchor_first = credit && sendable();
      if (credit && !anchor_first && observer_ != nullptr) {
        ++counters_.datagram_anchors;
        observer_->on_datagrams_need_anchor();
        anchor_first = sendable();  // the anchor just written, unless flow control holds it
      }
    }
  }
  if (anchor_only && !anchor_first) return 0;
  while (!anchor_first && confirmed_ && dgram_count_ > 0) {
    DatagramSlot& d = dgram_ring_[dgram_head_];
    auto pop = [&] {
      dgram_head_ = (dgram_head_ + 1) % dgram_ring_.size();
      --dgram_count_;
      if (dgram_want_writable_ && dgram_count_ <= dgram_ring_.size() / 2) {
        dgram_want_writable_ = false;
        if (observer_ != nullptr) observer_->on_datagrams_writable();
      }
    };
    if (d.data.size() > datagram_room()) {  // the path shrank (migration) after queueing
      ++counters_.datagrams_dropped;
      std::uint64_t id = d.id;
      pop();
      if (observer_ != nullptr) observer_->on_datagram_lost(id);
      continue;
    }
    int accepted = 0;
    ngtcp2_vec v{d.data.data(), d.data.size()};
    std::uint32_t flags = d.data.size() < dstlen / 2 ? NGTCP2_WRITE_DATAGRAM_FLAG_MORE : 0;
    ngtcp2_ssize nw = ngtcp2_conn_writev_datagram(conn, &ps->path, pi, dst, dstlen, &accepted,
                                                  flags, d.id, &v, 1, now);
    if (accepted) {
      ++counters_.datagrams_sent;
      // Packet bytes, near enough (short header, AEAD tag, frame header), so that small
      // DATAGRAMs count what their packets hold in the window.
      dgram_bytes_unanchored_ += d.data.size() + kDatagramPacketOverhead;
      pop();
    }
    if (nw == NGTCP2_ERR_WRITE_MORE) continue;
    if (nw == NGTCP2_ERR_INVALID_ARGUMENT || nw == NGTCP2_ERR_INVALID_STATE) {
      ++counters_.datagrams_dropped;
      std::uint64_t id = d.id;
      pop();
      if (observer_ != nullptr) observer_->on_datagram_lost(id);
      continue;
    }
    if (nw != 0 || accepted) return nw;
    // Nothing written and not accepted: congestion-limited. Streams cannot go either, but ACKs
    // and loss-recovery probes still must (without them a lossy path never reopens its cwnd).
    return ngtcp2_conn_write_pkt(conn, &ps->path, pi, dst, dstlen, now);
  }
  // 2. Streams, round robin.
  std::size_t tried = 0;
  while (confirmed_ && !active_.empty() && tried < active_.size()) {
    if (rr_ >= active_.size()) rr_ = 0;
    std::int64_t id = active_[rr_];
    Stream* s = stream(id);
    if (s == nullptr || s->write_closed ||
        (s->send.unsent_bytes() == 0 && (!s->fin_requested || s->fin_sent))) {
      if (s != nullptr) s->active = false;
      active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(rr_));
      continue;
    }
    if (s->blocked) {
      ++rr_;
      ++tried;
      continue;
    }
    std::span<const std::uint8_t> spans[2];
    std::size_t n = s->send.unsent(spans);
    ngtcp2_vec vecs[2];
    for (std::size_t i = 0; i < n; ++i) {
      vecs[i].base = const_cast<std::uint8_t*>(spans[i].data());
      vecs[i].len = spans[i].size();
    }
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (s->fin_requested) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    ngtcp2_ssize ndata = -1;
    ngtcp2_ssize nw = ngtcp2_conn_writev_stream(conn, &ps->path, pi, dst, dstlen, &ndata, flags, id,
                                                n > 0 ? vecs : nullptr, n, now);
    if (ndata >= 0) {
      s->send.mark_sent(static_cast<std::size_t>(ndata));
      if (s->fin_requested && s->send.unsent_bytes() == 0) s->fin_sent = true;
      dgram_bytes_unanchored_ = 0;  // a STREAM frame is PTO-eliciting
      anchor_due_ = false;
    }
    if (nw == NGTCP2_ERR_WRITE_MORE) continue;
    if (nw == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
      s->blocked = true;
      ++rr_;
      ++tried;
      continue;
    }
    if (nw == NGTCP2_ERR_STREAM_SHUT_WR || nw == NGTCP2_ERR_STREAM_NOT_FOUND) {
      s->write_closed = true;
      continue;
    }
    if (nw > 0) ++rr_;  // rotate between streams packet by packet
    return nw;
  }
  // 3. Everything else (ACKs, handshake, retransmissions, PINGs) and the end of a WRITE_MORE.
  return ngtcp2_conn_write_pkt(conn, &ps->path, pi, dst, dstlen, now);
}

void Connection::write_packets(Timestamp now, PacketSink& sink, std::size_t max_packet) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosePending) {
    write_close(now, sink);
    return;
  }
  check_path_mtu();
  // ngtcp2 keeps ordinary packets within the path maximum itself; the buffer must allow the
  // configured maximum so that PMTUD probes (larger than the path maximum) can be written.
  std::size_t path_max = path_max_udp_payload();
  std::size_t max_payload =
      std::max(path_max, ngtcp2_conn_get_max_tx_udp_payload_size(impl_->conn));
  if (max_packet > 0) {
    path_max = std::min(path_max, max_packet);
    max_payload = std::min(max_payload, max_packet);
  }
  std::size_t quantum = ngtcp2_conn_get_send_quantum(impl_->conn);
  std::size_t max_pkts =
      std::clamp<std::size_t>(quantum / std::max<std::size_t>(path_max, 1), 1, kMaxBurstPackets);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  // The Path handed to the sink, rebuilt only when ngtcp2 writes on another path (two
  // sockaddr_storage copies per packet showed in profiles).
  ngtcp2_path_storage last;
  ngtcp2_path_storage_zero(&last);
  Path path;
  bool have_path = false;
  // One packet into the sink: 1 written, 0 nothing to send, -1 the connection failed.
  auto write_packet = [&](bool anchor_only) -> int {
    std::span<std::uint8_t> buf = sink.buffer(max_payload);
    long nw = write_one(buf.data(), max_payload, &ps, &pi, now, anchor_only);
    if (nw < 0) {
      fail(static_cast<int>(nw), now);
      if (state_ == State::kClosePending) write_close(now, sink);
      return -1;
    }
    if (nw == 0) return 0;
    if (!have_path || !ngtcp2_path_eq(&last.path, &ps.path)) {
      ngtcp2_path_copy(&last.path, &ps.path);
      path = from_ngtcp2(ps.path);
      have_path = true;
    }
    sink.commit(path, static_cast<std::size_t>(nw), pi.ecn);
    ++counters_.packets_sent;
    return 1;
  };
  for (std::size_t npkts = 0; npkts < max_pkts; ++npkts) {
    int r = write_packet(false);
    if (r < 0) return;
    if (r == 0) break;
    if (state_ == State::kClosed) return;
  }
  // An anchor due (DATAGRAMs went while no timer ran) or needed soon (past half write_one's
  // limit) goes now, as the last packet of this send: it protects the whole burst, and a short
  // packet may end a GSO send, while one in the middle of a burst splits it in two (twice the
  // send calls of a direct channel's bulk transfer, and about 5 % of its throughput).
  if (confirmed_ && state_ == State::kOpen && dgram_bytes_unanchored_ > 0) {
    ngtcp2_conn_stat cs;
    ngtcp2_conn_get_conn_stat(impl_->conn, &cs);
    if ((anchor_due_ || dgram_bytes_unanchored_ * 2 > unanchored_limit(cs.cwnd)) &&
        write_packet(true) < 0)
      return;
  }
  // Pacing starts once the handshake is done: pacing the handshake at the default initial RTT
  // (333 ms) costs ~20 ms per connection (nested-quic.md section 6.1).
  if (completed_) ngtcp2_conn_update_pkt_tx_time(impl_->conn, now);
  if (stall_since_ == 0) check_stall(now);  // starts the watch; handle_expiry acts on it
}

ConnectionStats Connection::stats() const {
  ConnectionStats s = counters_;
  ngtcp2_conn_stat cs;
  ngtcp2_conn_get_conn_stat(impl_->conn, &cs);
  s.smoothed_rtt = cs.smoothed_rtt;
  s.min_rtt = cs.min_rtt;
  s.cwnd = cs.cwnd;
  s.bytes_in_flight = cs.bytes_in_flight;
  s.pto_count = cs.pto_count;
  s.loss_detection_timer = cs.loss_detection_timer;
  s.expiry = expiry();
  s.datagrams_queued = dgram_count_;
  return s;
}

}  // namespace qc::transport
