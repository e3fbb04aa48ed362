// Node: one quic-channel node on one event loop. It wires the layers together:
//
//   identity ─ links (one link::SessionManager per local interface, plus one on the configured
//   listen address for static peers and loopback) ─ discovery (LAN beacons: dial who we hear) ─
//   routing::Router (probes, circuits; its messages ride the sessions' control streams) ─
//   peerdb (LMDB: peers, events, routes) ─ the control socket (qc peers/routes/circuits/connect).
//
// Sessions are identified towards the routing core by a node-wide RouteSession id; each maps to
// (link, link::Session::Id). A peer reached over two interfaces has two sessions: two paths.
//
// Threading rule: single-threaded. Create, call and destroy on the thread that runs `io`.
// Other threads use asio::post() on that io_context to reach it.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "daemon/config.h"
#include "daemon/control_server.h"
#include "identity/identity.h"
#include "link/session_manager.h"

namespace qc::discovery {
class Discovery;
struct BeaconHeard;
}  // namespace qc::discovery
namespace qc::peerdb {
class PeerDb;
}
namespace qc::front {
class ByteStream;
}
namespace qc::channel {
class Channel;
}
namespace qc::routing {
class Router;
class IdentitySigner;
class IdentityKeyDirectory;
class SeededRandom;
struct CircuitUp;
}  // namespace qc::routing

namespace qc::daemon {

// A neighbour session as the node reports it.
struct SessionView {
  std::uint64_t id = 0;  // node-wide session id (the routing core's SessionId)
  std::string peer_text_id;
  identity::NodeId peer_id{};
  std::string remote;              // host:port of the peer
  bool dialled = false;            // we dialled it (else the peer did)
  double rtt_ms = 0;               // QUIC smoothed RTT
  std::uint32_t interface_id = 0;  // 0: the listen-address link (no specific interface)
  std::string interface_name;      // "" for the listen-address link
};

// An established circuit, as connect() reports it.
struct CircuitView {
  std::uint64_t id = 0;
  identity::NodeId remote{};
  nlohmann::json path = nlohmann::json::array();  // text ids, from this node to the remote
  // {"circuit_id", "remote", "node_id", "hops", "path"}: what `qc connect` prints.
  nlohmann::json to_json() const;
};

class Node {
 public:
  // Loads the identity files named by `config` (errors name the file and what is wrong).
  static Result<std::unique_ptr<Node>> create(asio::io_context& io, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Opens the peer database, binds the UDP port(s), starts discovery, the control socket and
  // the static peers. Errors say what to change.
  Result<void> start();
  // Closes every session (peers are told) and stops everything. Idempotent.
  void stop();

  const identity::Identity& identity() const { return *identity_; }
  const NodeConfig& config() const { return config_; }
  std::string label() const;  // name if configured, else text id
  std::uint16_t port() const;
  std::vector<SessionView> sessions();

  // Asks for circuits to `peer` (text id, hostname, IPv6 or hex prefix). `done` is called once
  // with the first established circuit's view, or an error (kUnreachable when every probe
  // branch answered dead-end, kTimeout).
  void connect(const std::string& peer, Duration timeout,
               std::function<void(Result<CircuitView>)> done);

  // The same for a parsed peer; `name` is how errors name it.
  void connect(const identity::NodeIdPrefix& peer, const std::string& name, Duration timeout,
               std::function<void(Result<CircuitView>)> done);

  // ---- streams and datagrams over the channels (node_streams.cc) ----
  using StreamDone = std::function<void(Result<std::unique_ptr<front::ByteStream>>)>;
  // Opens a stream to service `port` of `peer` (text id, hostname, cluster IPv6 or hex
  // prefix); circuits and the channel are made on demand. `done` runs once, from the loop and
  // never inside dial(), with the stream once the peer's service accepted it, or an error:
  // kUnreachable (no route, answered promptly), kLimit (port neither exposed nor listened on),
  // kIo (the service refused), kTimeout.
  void dial(const std::string& peer, std::uint16_t port, Duration timeout, StreamDone done);
  // Opens a raw channel stream to `peer` (no port header): what the SOCKS5 front end's
  // MeshDialer asks for. Same errors as dial().
  void open_stream(const identity::NodeIdPrefix& peer, Duration timeout, StreamDone done);
  // An in-process service on mesh port `port` (takes precedence over [expose]): streams other
  // nodes dial to it are handed to `accept` with the dialling node's id. kInvalidArgument when
  // the port already has a listener.
  using Accept =
      std::function<void(const identity::NodeId& peer, std::unique_ptr<front::ByteStream> s)>;
  Result<void> listen(std::uint16_t port, Accept accept);
  void unlisten(std::uint16_t port);
  // Sends one unreliable datagram to `peer` over its channel (opened on demand). `done` gets
  // kTooLarge when `data` exceeds datagram_room() of that channel (never silently dropped).
  void send_datagram(const std::string& peer, Bytes data, Duration timeout,
                     std::function<void(Result<void>)> done);
  // Largest datagram the channel to `peer` carries now (0 when there is no ready channel).
  std::size_t datagram_room(const identity::NodeId& peer);
  std::size_t datagram_room(const identity::NodeIdPrefix& peer);
  // Datagrams from peers (sent with send_datagram).
  std::function<void(const identity::NodeId& peer, ByteView data)> on_datagram;
  // Where the SOCKS5 proxy listens (when [socks] listen is set and the node started).
  std::optional<std::pair<std::string, std::uint16_t>> socks_endpoint() const;

  // Round trips over the end-to-end channel to `peer` (opened on demand, over the circuits that
  // connect() builds): `count` pings `interval` apart. `done` gets {"circuit": ..., "rtt_ms":
  // [...], "lost": n} or an error.
  void ping(const std::string& peer, int count, Duration interval, Duration timeout,
            std::function<void(Result<nlohmann::json>)> done);

  // The circuits to `peer` hop by hop (opened on demand like connect()): `count` statistics
  // probes `interval` apart on every established circuit, answers awaited up to `wait` after the
  // last. `done` gets {"peer", "circuits": [{"path", "hops": [{"rtt_ms": {min, median}, ...}],
  // ...}]} (see node_trace.cc) or an error.
  void trace(const std::string& peer, int count, Duration interval, Duration wait, Duration timeout,
             std::function<void(Result<nlohmann::json>)> done);

  // Inspection (also served on the control socket).
  nlohmann::json peers_json();
  nlohmann::json routes_json();
  nlohmann::json circuits_json();
  nlohmann::json status_json();

  // Called on the loop thread whenever a session comes up (true) or goes down (false).
  std::function<void(const SessionView&, bool up)> on_session_change;
  // Called on the loop thread when a circuit this node ends is established (detail: the path)
  // or gone (detail: why).
  std::function<void(const identity::NodeId& remote, const std::string& detail, bool up)>
      on_circuit_change;

 private:
  struct Link;
  struct Waiter;
  struct Dataplane;
  struct PingJob;
  struct ChannelWaiter;
  struct Front;
  struct TraceJob;
  struct Vpn;  // VPN mode (node_vpn.h)
  Node(asio::io_context& io, NodeConfig config, std::unique_ptr<identity::Identity> id);

  // links (node_links.cc)
  Result<Link*> open_link(std::uint32_t interface_id, const std::string& device,
                          const transport::Address& listen);
  void sync_interfaces();
  // `deferred`: the dial was held for the peer to dial first (kDialGrace) and is due now.
  void on_beacon(const discovery::BeaconHeard& b, bool deferred = false);
  void add_static_peers();
  void resolve_later(std::size_t index, Duration delay);
  void on_static_peer_resolved(std::size_t index, const std::error_code& ec,
                               const asio::ip::udp::resolver::results_type& results);
  Link* interface_link(std::uint32_t interface_id);
  Link* link_for_route_to(const transport::Address& remote);
  SessionView view(Link& link, link::Session& s) const;
  void on_link_up(Link& link, link::Session& s);
  void on_link_down(Link& link, link::Session& s, const transport::CloseInfo& why);
  std::uint64_t route_session_of(const Link& link, link::Session::Id sid) const;
  link::Session* session_of(std::uint64_t route_session, Link** link = nullptr);

  // routing (node_routing.cc)
  void init_routing();
  void pump();
  void arm_routing_timer();
  void on_circuit_up(const routing::CircuitUp& up);
  void finish_waiters(const std::function<bool(Waiter&)>& match, Result<CircuitView> result);

  // data plane and channels (node_dataplane.cc)
  void init_dataplane();
  void on_channel_datagram(const identity::NodeId& peer, ByteView data);
  void on_channel_ready(const identity::NodeId& peer);
  void ping_step(PingJob& job);
  void finish_ping(PingJob& job, Result<nlohmann::json> r);

  // streams, the SOCKS5 proxy and expose (node_streams.cc)
  Result<void> init_front();
  void with_channel(const identity::NodeIdPrefix& peer, const std::string& name, Duration timeout,
                    std::function<void(Result<channel::Channel*>)> done);
  void on_channel_event(const identity::NodeId& peer, const Error* closed);
  bool on_app_datagram(const identity::NodeId& peer, ByteView data);
  void finish_channel_waiter(ChannelWaiter& w, Result<channel::Channel*> r);
  void stop_front();
  // qc trace (node_trace.cc)
  void start_trace(std::unique_ptr<TraceJob> job, const CircuitView& circuit, bool had_circuit);
  bool on_trace_answer(std::uint64_t session, std::uint16_t label, ByteView body, Timestamp now);
  void trace_step(TraceJob& job);
  void finish_trace(TraceJob& job);

  // control socket (node_control.cc)
  void init_control();
  void sweep_database();

  Timestamp now() const { return SystemClock::instance().now(); }
  std::uint64_t unix_ms() const { return SystemClock::instance().unix_now() / kMillisecond; }

  asio::io_context& io_;
  NodeConfig config_;
  std::unique_ptr<identity::Identity> identity_;
  std::unique_ptr<peerdb::PeerDb> db_;
  // Live links only, [0] the listen-address link. A link's slot (in its route-session ids) is
  // next_link_slot_ when it opens and never reused, so a stale id can never name another link's
  // session; kMaxLinkSlots bounds the numbers (one interface flap uses one).
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Link>> retired_links_;  // closed, destroyed on a later turn
  std::size_t next_link_slot_ = 0;
  std::set<std::uint32_t> seen_interfaces_;  // the interfaces at sync_interfaces()' last look
  std::unique_ptr<discovery::Discovery> discovery_;
  bool per_interface_links_ = false;
  std::unique_ptr<routing::IdentitySigner> signer_;
  std::unique_ptr<routing::IdentityKeyDirectory> keys_;
  std::unique_ptr<routing::SeededRandom> random_;
  std::unique_ptr<routing::Router> router_;
  std::unique_ptr<asio::steady_timer> routing_timer_;
  Timestamp routing_timer_at_ = kNever;
  std::unique_ptr<ControlServer> control_;
  std::vector<std::unique_ptr<asio::steady_timer>> resolve_timers_;
  std::unique_ptr<asio::ip::udp::resolver> resolver_;  // static peers' names; cancelled in stop()
  std::unique_ptr<asio::steady_timer> interface_timer_;
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  // Beacon dials held for the peer to dial first, by "partial@interface id" (at most 1024).
  std::map<std::string, std::unique_ptr<asio::steady_timer>> deferred_dials_;
  std::vector<std::unique_ptr<Waiter>> waiters_;
  std::unique_ptr<Dataplane> dataplane_;
  std::vector<std::unique_ptr<PingJob>> pings_;
  std::vector<std::unique_ptr<ChannelWaiter>> channel_waiters_;
  std::unique_ptr<Front> front_;
  std::vector<std::unique_ptr<TraceJob>> traces_;
  // False once the node is destroyed: handlers posted or queued on io_ check it before `this`.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<Vpn> vpn_;  // null unless VPN mode is on and its device opened
  bool stopped_ = false;
  bool started_ = false;
};

// Runs a node from `config` until SIGINT or SIGTERM; returns the process exit code (0 after a
// clean stop, 1 when the node could not start, with the reason logged).
int run_node(const NodeConfig& config);

}  // namespace qc::daemon
