// Session: the neighbour session, one QUIC connection (ALPN "qc-link/1") to one adjacent peer
// over one local interface. Owned by a SessionManager, which creates it for a dial or an
// accepted connection; the embedder only uses it through the manager's callbacks and lookups.
//
// Protocol: the dialling side opens the control stream (bidi stream 0) once the handshake is
// confirmed and sends Hello; the accepting side answers with its own Hello. The session is up
// when both Hellos are exchanged (each checked against the certificate the handshake proved).
// Control messages are length-prefixed protobuf (frame_codec.h); a peer that breaks the rules
// is closed with a CloseCode and a reason. Ping/Pong measure the RTT; QUIC keep-alives and the
// idle timeout detect a dead peer.
//
// Threading rule: single-threaded, on the manager's io_context thread.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/clock.h"
#include "identity/identity.h"
#include "link/close_code.h"
#include "link/control_channel.h"
#include "link/link_pb.h"
#include "transport/connection.h"
#include "transport/endpoint.h"

namespace qc::link {

class Session;

// What a Session reports to its owner (the SessionManager).
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual void on_session_verified(Session& s) = 0;  // TLS done, peer id known, not up yet
  virtual void on_session_up(Session& s) = 0;
  virtual void on_session_closed(Session& s, const transport::CloseInfo& info) = 0;
  virtual void on_session_control(Session& s, const ControlMessage& msg) = 0;
  virtual void on_session_datagram(Session& s, ByteView data) = 0;
  virtual void on_session_datagrams_writable(Session& s) = 0;
  // Data on a stream other than the control stream (bulk streams, benchmarks).
  virtual void on_session_stream_data(Session& s, std::int64_t id, ByteView data, bool fin) = 0;
  virtual void on_session_stream_writable(Session& s, std::int64_t id) = 0;
};

struct SessionConfig {
  std::string local_text_id;
  std::uint32_t interface_id = 0;
  std::uint16_t listen_port = 0;
  Duration ping_interval = 10 * kSecond;
  Duration hello_timeout = 10 * kSecond;
  std::size_t max_control_backlog = 1u << 20;
};

class Session final : public transport::ConnectionObserver {
 public:
  using Id = std::uint64_t;
  enum class State { kHandshake, kHello, kUp, kClosed };

  Session(SessionHost& host, asio::io_context& io, transport::Endpoint& endpoint,
          const SessionConfig& config, Id id, bool dialled);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Binds the session to its connection (right after dial/accept).
  void attach(transport::Endpoint::Handle handle);

  Id id() const { return id_; }
  State state() const { return state_; }
  bool is_up() const { return state_ == State::kUp; }
  // True when we dialled this connection (we are the QUIC client).
  bool dialled() const { return dialled_; }
  // Valid from on_session_verified on.
  const identity::NodeId& peer_id() const { return peer_id_; }
  const std::string& peer_text_id() const { return peer_text_id_; }
  // The peer's Hello (valid once up).
  const Hello& peer_hello() const { return control_.peer_hello(); }
  transport::Address remote_address() const;
  // Smoothed RTT from QUIC; control Ping/Pong RTT in last_ping_rtt() (0 before the first Pong).
  Duration rtt() const;
  // The QUIC connection's counters (zeros before it exists).
  transport::ConnectionStats transport_stats() const;
  Duration last_ping_rtt() const { return ping_rtt_; }
  transport::Endpoint::Handle handle() const { return handle_; }
  transport::Connection* connection();

  // Sends one control message (not Hello). kClosed when the session is not up, kTooLarge for a
  // message over the frame limit, kLimit when the peer stopped reading (the session is closed).
  Result<void> send_control(const ControlMessage& msg);
  // Opens another bidirectional stream for bulk data (not the control stream). Its data at the
  // peer goes to SessionCallbacks::on_stream_data.
  Result<std::int64_t> open_stream();
  // Writes with back-pressure: returns the bytes taken (fewer than asked: wait for
  // on_stream_writable). See transport::Connection::write_stream.
  Result<std::size_t> write_stream(std::int64_t id, ByteView data, bool fin = false);
  // Sends one DATAGRAM (see transport::DatagramStatus).
  transport::DatagramStatus send_datagram(ByteView data);
  // Largest DATAGRAM payload now (0 when not up).
  std::size_t datagram_room();
  // Closes with a code and reason; on_session_closed follows.
  void close(CloseCode code, const std::string& reason);

  // transport::ConnectionObserver
  void on_handshake_confirmed(const transport::PeerInfo& peer) override;
  void on_stream_data(std::int64_t id, ByteView data, bool fin) override;
  void on_stream_reset(std::int64_t id, std::uint64_t code) override;
  void on_stream_writable(std::int64_t id) override;
  void on_datagram(ByteView data) override;
  void on_datagrams_writable() override;
  void on_congestion_stalled() override;
  void on_datagrams_need_anchor() override;
  void on_closed(const transport::CloseInfo& info) override;

 private:
  void send_hello();
  Result<void> queue_frame(const ControlMessage& msg);
  void flush_control();
  void deliver(ControlMessage& msg);
  void violation(const Violation& v);
  void arm_timer(Duration after);
  void on_timer();

  SessionHost& host_;
  transport::Endpoint& endpoint_;
  SessionConfig config_;
  Id id_;
  bool dialled_;
  transport::Endpoint::Handle handle_ = 0;
  transport::Connection* conn_ = nullptr;  // cleared at on_closed
  State state_ = State::kHandshake;
  identity::NodeId peer_id_{};
  std::string peer_text_id_;
  ControlChannel control_{""};
  std::int64_t control_stream_ = -1;
  Bytes backlog_;  // encoded frames the stream did not take yet
  bool hello_sent_ = false;
  asio::steady_timer timer_;
  // Expires with the session: a timer handler already queued when the session is destroyed
  // (cancel() cannot take it back) sees it gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t ping_nonce_ = 0;
  Timestamp ping_sent_ = 0;
  Duration ping_rtt_ = 0;
};

}  // namespace qc::link
