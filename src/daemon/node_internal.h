// Private parts of Node shared by its .cc files (node.cc, node_links.cc, node_routing.cc,
// node_control.cc). Not part of the daemon's interface.
#pragma once

#include <map>

#include "channel/channel_manager.h"
#include "channel/channel_pump.h"
#include "channel/send_status.h"
#include "circuit/data_plane.h"
#include "circuit/trace.h"
#include "common/log.h"
#include "daemon/channel_streams.h"
#include "daemon/node.h"
#include "discovery/discovery.h"
#include "front/local_connector.h"
#include "front/mesh_dialer.h"
#include "front/socks5_server.h"
#include "front/tcp_dialer.h"
#include "peerdb/peer_db.h"
#include "routing/identity_crypto.h"
#include "routing/router.h"

namespace qc::daemon {

inline std::shared_ptr<spdlog::logger> node_log() {
  return log::get("node");
}

inline Duration seconds(double s) {
  return static_cast<Duration>(s * 1e9);
}

// One local interface's sessions: a SessionManager on its own UDP socket (bound to the interface
// when per-interface links are on), or the listen-address link (slot 0).
struct Node::Link {
  std::size_t slot = 0;            // in its route-session ids; never reused (Node::links_)
  std::uint32_t interface_id = 0;  // routing's interface id
  std::string name;                // interface name, "" for the listen-address link
  std::unique_ptr<link::SessionManager> mgr;
  std::map<std::string, Timestamp> last_dial;  // "partial@address" -> when we last dialled it
};

// A `qc connect` waiting for its first circuit.
struct Node::Waiter {
  routing::PeerPrefix peer;
  std::function<void(Result<CircuitView>)> done;
  std::unique_ptr<asio::steady_timer> timer;
  bool finished = false;
};

// Route-session ids: (slot + 1) << 40 | link::Session::Id; slots stay below kMaxLinkSlots.
constexpr std::size_t kMaxLinkSlots = (std::size_t{1} << 23) - 1;
inline std::uint64_t make_route_session(std::size_t slot, link::Session::Id sid) {
  return (static_cast<std::uint64_t>(slot + 1) << 40) | sid;
}
inline std::size_t route_session_slot(std::uint64_t rs) {
  return static_cast<std::size_t>(rs >> 40) - 1;
}
inline link::Session::Id route_session_sid(std::uint64_t rs) {
  return rs & ((1ull << 40) - 1);
}

std::string text_of_partial_bytes(const std::string& bytes);

// What a per-interface link on `itf` binds, from listen.address: the wildcard of its family ("::"
// takes both families, "0.0.0.0" IPv4 only), or the address itself on the interface that holds
// it; nullopt for the other interfaces (the listen link serves them) and for a bad address.
std::optional<transport::Address> interface_bind_address(const std::string& listen,
                                                         std::uint16_t port,
                                                         const discovery::Interface& itf);

// A `qc ping` in progress.
struct Node::PingJob {
  std::uint32_t id = 0;  // in every ping of this job, so concurrent pings are told apart
  std::string name;
  identity::NodeId peer{};
  int count = 0;
  int sent = 0;
  Duration interval = 0;
  std::map<std::uint32_t, Timestamp> outstanding;
  std::vector<double> rtts;
  nlohmann::json circuit;
  std::function<void(Result<nlohmann::json>)> done;
  std::unique_ptr<asio::steady_timer> step;
  std::unique_ptr<asio::steady_timer> deadline;
  bool started = false;
  bool finished = false;
};

// A `qc trace` in progress: dedicated stats probes on every established circuit to the peer.
struct Node::TraceJob {
  struct Circuit {
    std::string circuit_id;
    bool originator = false;
    circuit::SessionId session = 0;  // our side of the circuit
    circuit::Label label = 0;
    nlohmann::json path;  // text ids from us to the peer
    circuit::TraceProbe probe;
  };
  std::string name;
  identity::NodeId peer{};
  int count = 0;
  Duration interval = 0;
  Duration wait = 0;  // after the last probe, for the answers
  std::vector<Circuit> circuits;
  std::function<void(Result<nlohmann::json>)> done;
  std::unique_ptr<asio::steady_timer> step;
  bool finished = false;
};

// The data plane and the channels, with the node as their CircuitIo, ChannelObserver and
// CircuitReceiver (answers to `qc trace` probes go to the node, everything else to the channels).
struct Node::Dataplane final : public circuit::CircuitIo,
                               public channel::ChannelObserver,
                               public circuit::CircuitReceiver {
  explicit Dataplane(Node& n) : node(n), dp(*this) {}

  // circuit::CircuitReceiver
  void on_circuit_packet(circuit::SessionId s, circuit::Label l, circuit::PacketType t,
                         ByteView body, Timestamp now) override {
    if (t == circuit::PacketType::kStats && node.on_trace_answer(s, l, body, now)) return;
    if (channels) channels->on_circuit_packet(s, l, t, body, now);
  }
  void on_session_writable(circuit::SessionId s, Timestamp now) override {
    if (channels) channels->on_session_writable(s, now);
  }

  // circuit::CircuitIo over the node's sessions and router.
  circuit::SendStatus send_datagram(circuit::SessionId s, ByteView p) override {
    link::Session* ss = node.session_of(s);
    if (!ss) return circuit::SendStatus::kClosed;
    return channel::send_status_of(ss->send_datagram(p));
  }
  std::size_t datagram_room(circuit::SessionId s) override {
    link::Session* ss = node.session_of(s);
    return ss ? ss->datagram_room() : 0;
  }
  Duration session_rtt(circuit::SessionId s) override {
    link::Session* ss = node.session_of(s);
    return ss ? ss->rtt() : 0;
  }
  std::optional<circuit::Hop> forward(circuit::SessionId s, circuit::Label l) override {
    auto side = node.router_->forward(s, l);
    if (!side) return std::nullopt;
    return circuit::Hop{side->session, side->label};
  }
  void touch(circuit::SessionId s, circuit::Label l, Timestamp now) override {
    node.router_->touch(s, l, now);
  }

  // channel::ChannelObserver
  void on_channel_ready(const identity::NodeId& peer) override { node.on_channel_ready(peer); }
  void on_channel_closed(const identity::NodeId& peer, const Error& why) override {
    node_log()->info("channel to {} closed: {}", identity::text_id(identity::partial_of(peer)),
                     why.message);
    if (streams) streams->on_channel_closed(peer, why);
    node.on_channel_event(peer, &why);
    if (channel_closed) channel_closed(peer, why);
  }
  void on_stream_opened(const identity::NodeId& peer, std::int64_t id) override {
    if (streams) streams->on_stream_opened(peer, id);
  }
  void on_stream_data(const identity::NodeId& peer, std::int64_t id, ByteView data,
                      bool fin) override {
    if (streams) streams->on_stream_data(peer, id, data, fin);
  }
  void on_stream_reset(const identity::NodeId& peer, std::int64_t id, std::uint64_t code) override {
    if (streams) streams->on_stream_reset(peer, id, code);
  }
  void on_stream_writable(const identity::NodeId& peer, std::int64_t id) override {
    if (streams) streams->on_stream_writable(peer, id);
  }
  void on_stream_closed(const identity::NodeId& peer, std::int64_t id) override {
    if (streams) streams->on_stream_closed(peer, id);
  }
  void on_datagram(const identity::NodeId& peer, ByteView data) override {
    node.on_channel_datagram(peer, data);
  }
  void on_want_circuits(const identity::NodeId& peer, std::size_t healthy) override {
    node_log()->debug("channel to {}: {} healthy paths, asking for more circuits",
                      identity::text_id(identity::partial_of(peer)), healthy);
    (void)node.router_->want_peer(routing::PeerPrefix::of(peer), node.now());
    node.pump();
  }

  // After front-end calls: let the channels write (ChannelPump::schedule_flush).
  void schedule_flush() {
    if (pump) pump->schedule_flush();
  }

  Node& node;
  circuit::DataPlane dp;
  std::unique_ptr<channel::ChannelManager> channels;
  // Flushes the channels per receive batch and after front-end calls, and runs their timer; its
  // after-flush hook is VPN mode's. Null when the channels are.
  std::unique_ptr<channel::ChannelPump> pump;
  ChannelStreams* streams = nullptr;  // owned by Node::Front
  // Front-end hook (VPN mode): a channel closed.
  std::function<void(const identity::NodeId&, const Error&)> channel_closed;
};

// Someone waiting for the channel to a peer to be ready.
struct Node::ChannelWaiter {
  identity::NodeId peer{};
  std::function<void(Result<channel::Channel*>)> done;
  std::unique_ptr<asio::steady_timer> timer;
  bool finished = false;
};

struct Node::Front {
  // The MeshDialer's StreamOpener: a raw channel stream from the node.
  class Opener final : public front::StreamOpener {
   public:
    Opener(Node& n, Duration timeout) : node_(n), timeout_(timeout) {}
    void open(const identity::NodeIdPrefix& peer, Callback callback) override {
      node_.open_stream(peer, timeout_, std::move(callback));
    }

   private:
    Node& node_;
    Duration timeout_;
  };

  Front(Node& n, asio::io_context& io, front::ExposePolicy policy)
      : opener(n, 10 * kSecond), connector(io, std::move(policy)) {}

  Opener opener;
  std::unique_ptr<ChannelStreams> streams;
  std::unique_ptr<front::TcpDialer> direct;
  std::unique_ptr<front::MeshDialer> dialer;
  front::LocalConnector connector;
  std::unique_ptr<front::Socks5Server> socks;
  std::map<std::uint16_t, Accept> listeners;
};

}  // namespace qc::daemon
