// The routing core of one node (layer 5): route probes, dead-end aggregation, PeerQuery, the
// circuit table, the route cache and the circuit builder, behind one sans-IO object.
//
// Sans-IO contract: the Router reads no clock, opens no socket or file. Every input carries
// `now` (monotonic ns); wall-clock time for probe expiry is now + unix_offset. Outputs are
// queued: messages to send (poll_transmit), events (poll_event), and next_deadline(), at which
// the embedder calls handle_timeout(now). A peer's malformed or hostile message is dropped and
// counted in stats(), never an assertion.
//
// Threading: not thread-safe; one owner (the node's event loop or the simulator).
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "routing/circuit_builder.h"
#include "routing/circuit_table.h"
#include "routing/config.h"
#include "routing/crypto.h"
#include "routing/events.h"
#include "routing/probe_table.h"
#include "routing/rate_limiter.h"
#include "routing/route_cache.h"
#include "routing/route_codec.h"
#include "routing/routing_pb.h"
#include "routing/seen_table.h"
#include "routing/stats.h"
#include "routing/timer_queue.h"
#include "routing/types.h"

namespace qc::routing {

// A neighbour session as the core sees it.
struct Neighbour {
  NodeId peer{};
  PartialId partial{};
  InterfaceId iface = 0;
  Label label_lo = 0;  // this node's half of the label space on this link
  Label label_hi = 0;
};

// What an endpoint keeps beyond the circuit entry.
struct EndpointInfo {
  NodeId remote{};
  RouteEstablish route;
};

class Router {
 public:
  // `signer`, `keys` and `random` must outlive the Router. `unix_offset` is added to `now` to get
  // unix time in ns (the simulator gives nodes the same or skewed offsets).
  Router(const Config& config, Signer& signer, KeyDirectory& keys, Random& random,
         std::int64_t unix_offset);

  // ---- inputs ----
  void on_neighbour_up(SessionId session, const NodeId& peer, InterfaceId iface, Timestamp now);
  void on_neighbour_down(SessionId session, Timestamp now);
  void on_message(SessionId session, const RoutingMessage& message, Timestamp now);
  // Keep `count` circuits (0: Config::wanted_circuits) to a peer; builds at once.
  Result<void> want_peer(const PeerPrefix& peer, Timestamp now, std::uint32_t count = 0);
  void unwant_peer(const PeerPrefix& peer) { builder_.unwant(peer); }
  // One build now: a cached route if there is one, else a probe flood. Returns the probe nonce
  // (0 when a cached route was tried).
  Result<std::uint64_t> build_circuit(const PeerPrefix& peer, Timestamp now);
  // Floods a probe, skipping the cache. Returns its nonce.
  // `avoid`: partial ids the probe must not cross (at most 16; signed into the probe).
  Result<std::uint64_t> send_probe(const PeerPrefix& peer, Timestamp now,
                                   const std::vector<PartialId>& avoid = {});
  // Closes a circuit this node is an endpoint of (sends CircuitClose along it).
  Result<void> close_circuit(SessionId session, Label label, Timestamp now);
  void handle_timeout(Timestamp now);
  void set_unix_offset(std::int64_t offset) { unix_offset_ = offset; }

  // ---- outputs ----
  bool poll_transmit(Outgoing& out);
  std::optional<Event> poll_event();
  Timestamp next_deadline() const;

  // ---- data plane ----
  // Where a packet arriving on (session, label) goes at a relay: O(1). nullopt when the label is
  // unknown, not yet ESTABLISHED, or this node is the circuit's endpoint.
  std::optional<CircuitSide> forward(SessionId session, Label label) const {
    return circuits_.forward(session, label);
  }
  // Refreshes an ESTABLISHED circuit's expiry (called on use). False when unknown.
  bool touch(SessionId session, Label label, Timestamp now);

  // ---- inspection ----
  const NodeId& node_id() const { return self_; }
  const Stats& stats() const { return stats_; }
  const CircuitTable& circuits() const { return circuits_; }
  const ProbeTable& probe_table() const { return probes_; }
  const SeenTable& seen_table() const { return seen_; }
  const RouteCache& route_cache() const { return cache_; }
  const CircuitBuilder& builder() const { return builder_; }
  const EndpointInfo* endpoint(CircuitHandle h) const;
  std::size_t recent_probes() const { return recent_.size(); }
  std::size_t parked() const { return parked_.size(); }
  const Config& config() const { return config_; }

 private:
  struct Recent {
    Timestamp expiry;
    SessionId from;
    bool own;  // our own probe (no hop of ours in `route` yet)
    Route route;
  };
  struct Parked {
    SessionId session;
    RoutingMessage message;
    std::vector<PartialId> asked;
  };
  struct Held {
    SessionId session;
    CircuitInit init;
    NodeId remote;
  };

  // helpers (router.cc)
  std::uint64_t unix_ms(Timestamp now) const;
  void send(SessionId session, RoutingMessage&& m);
  const Neighbour* neighbour(SessionId session) const;
  std::optional<SessionId> session_to(const PartialId& peer, InterfaceId iface) const;
  void emit(Event e) { events_.push_back(std::move(e)); }
  void on_timer(const Timer& t, Timestamp now);

  // probes (router_probe.cc)
  void handle_probe(SessionId s, const RouteProbe& p, Timestamp now, bool first_time);
  void handle_result(SessionId s, const ProbeResult& r, Timestamp now);
  void handle_query(SessionId s, const PeerQuery& q);
  void handle_answer(SessionId s, const PeerAnswer& a, Timestamp now);
  void answer_probe(SessionId s, std::uint32_t tag, ProbeResult::Kind kind);
  bool park(SessionId s, const RoutingMessage& m, const std::vector<PartialId>& unknown,
            Timestamp now);
  void parked_timeout(std::uint32_t id);
  // Signs and sends copies of `route` to `targets`; returns the entry id, or nullopt when no
  // copy went out.
  std::optional<std::uint32_t> fan_out(const Route& route, const std::vector<SessionId>& targets,
                                       InterfaceId backward_if, const ProbeEntry& entry,
                                       Timestamp now);
  std::vector<SessionId> probe_targets(const Route& route) const;
  void on_settled(const Settled& s, Timestamp now);
  void start_build(const PeerPrefix& peer, Timestamp now);
  void reoffer(SessionId s, Timestamp now);
  void remember(SessionId from, bool own, const Route& route, Timestamp expiry);
  Timestamp local_expiry(const Route& route, Timestamp now) const;

  // circuits (router_circuit.cc)
  void handle_init(SessionId s, const CircuitInit& init, Timestamp now, bool first_time);
  void handle_established(SessionId s, const CircuitEstablished& m, Timestamp now);
  void handle_close(SessionId s, const CircuitClose& m, Timestamp now);
  void answer_as_destination(SessionId s, const Route& route, Timestamp now);
  void consider_at_originator(SessionId s, const CircuitInit& init, const NodeId& remote,
                              Timestamp now);
  void accept_at_endpoint(SessionId s, const CircuitInit& init, CircuitRole role,
                          const NodeId& remote, Timestamp now);
  void reject_init(SessionId s, Label label, CircuitClose::Reason reason);
  void endpoint_down(CircuitHandle h, CloseReason reason, Timestamp now);
  bool try_cached(const CachedRoute& c, Timestamp now);
  void circuit_timeout(CircuitHandle h, Timestamp now);
  void hold_timeout(std::uint64_t id, Timestamp now);
  std::size_t circuits_with(const NodeId& remote) const;
  static std::vector<PartialId> relays_of(const Route& route);

  Config config_;
  Signer& signer_;
  KeyDirectory& keys_;
  Random& random_;
  std::int64_t unix_offset_;
  NodeId self_{};
  PartialId self_partial_{};
  SipKey hash_key_{};

  std::unordered_map<SessionId, Neighbour> sessions_;
  std::map<std::pair<PartialId, InterfaceId>, SessionId> by_link_;
  std::set<InterfaceId> interfaces_seen_;

  RateLimiter rate_;
  SeenTable seen_;
  ProbeTable probes_;
  VerifiedCache verified_;
  std::deque<Recent> recent_;
  struct Originated {
    PeerPrefix peer;
    Timestamp sent;
  };
  std::unordered_map<std::uint32_t, Originated> originated_;  // by probe entry
  // At the destination: relays of the copies answered, per probe id (lives with the seen entry).
  std::unordered_map<std::uint64_t, std::vector<PartialId>> answered_relays_;
  std::map<std::uint32_t, Parked> parked_;
  std::uint32_t next_query_ = 1;

  CircuitTable circuits_;
  std::unordered_map<CircuitHandle, EndpointInfo> endpoints_;
  std::map<std::uint64_t, Held> held_;
  std::uint64_t next_held_ = 1;
  RouteCache cache_;
  CircuitBuilder builder_;

  TimerQueue timers_;
  std::deque<Outgoing> outbox_;
  std::deque<Event> events_;
  Stats stats_;
};

}  // namespace qc::routing
