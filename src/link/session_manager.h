// SessionManager: every neighbour session on one local interface (one UDP Endpoint).
//
// Embedding (the daemon does this):
//
//   asio::io_context io;
//   auto id = identity::Identity::load(files);                  // our chain, key, ca.crt
//   link::SessionManagerOptions opts;
//   opts.listen = *transport::Address::parse("0.0.0.0", 7400);  // port 0 picks one
//   opts.interface_id = 0x1234;                                 // stable hash of the interface
//   link::SessionCallbacks cb;
//   cb.on_up = [](link::Session& s) { ... s.peer_id(), s.peer_text_id(), s.id() ... };
//   cb.on_down = [](link::Session& s, const transport::CloseInfo& why) { ... };
//   cb.on_control = [](link::Session& s, const link::ControlMessage& m) { ... m.routing() ... };
//   cb.on_datagram = [](link::Session& s, ByteView d) { ... circuit packets ... };
//   link::SessionManager mgr(io, *id, opts, cb);
//   if (auto r = mgr.start(); !r) ...;                           // binds, accepts sessions
//   mgr.add_static_peer(*transport::Address::parse("192.0.2.7:7400"));  // keeps it up
//   ... io.run() ...
//   mgr.session(sid)->send_control(msg); mgr.session(sid)->send_datagram(bytes);
//   mgr.shutdown();                     // closes every session (peers see kShutdown)
//
// Sessions: at most one up session per peer node id (on this interface). When two connections
// between the same pair come up (simultaneous dials), both nodes keep the one dialled by the
// node with the smaller node id and close the other with kDuplicateSession; between two
// connections dialled by the same node, the newer wins (the peer restarted). on_up/on_down are
// called once per session (a session that lost the duplicate race before it was up is never
// reported). Key your state by Session::Id, not by peer: a replacement's on_up may come before
// the old session's on_down.
//
// Static peers are re-dialled with exponential backoff (with jitter, capped, reset when a
// session to them comes up) whenever no session to them is up.
//
// Session references passed to callbacks are valid during the callback; keep the Id and look it
// up with session(id) later. Sessions are destroyed on a later loop turn after on_down.
//
// Threading rule: single-threaded. Construct, call and destroy on the io_context's thread.
#pragma once

#include <asio.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "identity/identity.h"
#include "link/backoff.h"
#include "link/session.h"
#include "transport/endpoint.h"

namespace qc::link {

constexpr const char* kAlpn = "qc-link/1";

struct SessionManagerOptions {
  transport::Address listen;  // required: where sessions are accepted and dialled from
  std::uint32_t interface_id = 0;
  std::string suffix = std::string(identity::kDefaultSuffix);  // for SNI "<text id>.<suffix>"
  bool accept_incoming = true;
  Duration idle_timeout = 30 * kSecond;
  Duration keep_alive = 5 * kSecond;  // QUIC PING after this much silence
  Duration ping_interval = 10 * kSecond;
  Duration hello_timeout = 10 * kSecond;
  Duration handshake_timeout = 10 * kSecond;
  Duration redial_initial = 500 * kMillisecond;
  Duration redial_max = 30 * kSecond;
  transport::CongestionControl cc = transport::CongestionControl::kCubic;
  transport::EndpointOptions endpoint;
  // Answer packets for unknown connections with stateless resets (secret derived from our key,
  // so it survives restarts). Turn off when several endpoints share a port and a packet could
  // reach an endpoint that does not own its connection: the reset would kill that connection.
  bool stateless_reset = true;
  // Adjusts the QUIC settings of every session (tests, benchmarks).
  std::function<void(transport::ConnectionSettings&)> tune;
};

struct SessionCallbacks {
  std::function<void(Session&)> on_up;
  std::function<void(Session&, const transport::CloseInfo&)> on_down;
  // Control messages other than Hello/Ping/Pong/Goodbye (e.g. routing).
  std::function<void(Session&, const ControlMessage&)> on_control;
  // DATAGRAMs arrive only while the endpoint reads a receive batch; on_receive_batch follows.
  std::function<void(Session&, ByteView)> on_datagram;
  // After a batch of received packets, before the sessions write their last ACKs for it:
  // DATAGRAMs sent from here (a channel's answer to what it just got) share the sessions'
  // packets and sendmsg calls (transport::Endpoint::set_before_write).
  std::function<void()> on_receive_batch;
  // A send_datagram() that returned kBlocked may be retried.
  std::function<void(Session&)> on_datagrams_writable;
  // Bulk streams (Session::open_stream): data in order, and room again after back-pressure.
  std::function<void(Session&, std::int64_t, ByteView, bool)> on_stream_data;
  std::function<void(Session&, std::int64_t)> on_stream_writable;
};

class SessionManager final : private SessionHost {
 public:
  SessionManager(asio::io_context& io, const identity::Identity& self,
                 SessionManagerOptions options, SessionCallbacks callbacks);
  ~SessionManager() override;
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Binds the endpoint and starts accepting. kIo when the port is taken.
  Result<void> start();
  const transport::Address& local_address() const { return endpoint_->local_address(); }

  // Dials once (no retry). With `expected`, a peer with another node id is refused, and an up
  // session to `expected` is returned instead of dialling again. Without it, dialling a peer we
  // already have a session with replaces that session (the newer connection wins).
  Result<Session::Id> dial(const transport::Address& remote,
                           std::optional<identity::NodeId> expected = std::nullopt);
  // Keeps a session to `remote` up (dials now and re-dials with backoff).
  void add_static_peer(const transport::Address& remote,
                       std::optional<identity::NodeId> expected = std::nullopt);
  void remove_static_peer(const transport::Address& remote);

  // Any session (up or not) by id; nullptr when gone.
  Session* session(Session::Id id);
  // The up session to `peer`, if any.
  Session* session_to(const identity::NodeId& peer);
  // All up sessions.
  std::vector<Session*> up_sessions();
  std::size_t session_count() const { return sessions_.size(); }

  // Closes every session with kShutdown (the CONNECTION_CLOSE packets are sent before it
  // returns), stops accepting and re-dialling. The manager may be destroyed afterwards.
  void shutdown();

  transport::Endpoint& endpoint() { return *endpoint_; }
  const identity::Identity& identity() const { return self_; }

 private:
  struct StaticPeer {
    explicit StaticPeer(asio::io_context& io, Duration initial, Duration max)
        : backoff(initial, max), timer(io) {}
    transport::Address address;
    std::optional<identity::NodeId> expected;
    std::optional<identity::NodeId> learned;  // the node id seen at this address
    Session::Id current = 0;                  // our dial in progress or up
    Backoff backoff;
    asio::steady_timer timer;
    bool timer_armed = false;
  };

  // SessionHost
  void on_session_verified(Session& s) override;
  void on_session_up(Session& s) override;
  void on_session_closed(Session& s, const transport::CloseInfo& info) override;
  void on_session_control(Session& s, const ControlMessage& msg) override;
  void on_session_datagram(Session& s, ByteView data) override;
  void on_session_datagrams_writable(Session& s) override;
  void on_session_stream_data(Session& s, std::int64_t id, ByteView data, bool fin) override;
  void on_session_stream_writable(Session& s, std::int64_t id) override;

  transport::ConnectionSettings settings(transport::Role role) const;
  SessionConfig session_config() const;
  transport::ConnectionObserver* accept(transport::Endpoint::Handle h, transport::Connection& c);
  Session& create(bool dialled);
  // Which of two sessions to the same peer survives (see the header comment).
  Session& winner(Session& a, Session& b);
  void try_dial(StaticPeer& sp);
  void schedule_redial(StaticPeer& sp);
  void destroy_later(Session::Id id);

  asio::io_context& io_;
  const identity::Identity& self_;
  SessionManagerOptions options_;
  SessionCallbacks callbacks_;
  std::shared_ptr<const transport::TlsContext> tls_;
  std::unique_ptr<transport::Endpoint> endpoint_;
  Session::Id next_id_ = 1;
  std::map<Session::Id, std::unique_ptr<Session>> sessions_;
  std::map<identity::NodeId, Session::Id> up_by_peer_;
  std::set<Session::Id> reported_up_;  // sessions whose on_up was called
  std::vector<std::unique_ptr<StaticPeer>> static_peers_;
  bool stopping_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::link
