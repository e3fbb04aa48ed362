// A discrete-event network simulator with a virtual clock (a test and benchmark tool).
//
// Nodes are objects implementing sim::Node (the real protocol code behind a thin adapter);
// links join two nodes, one interface each, with latency, bandwidth and loss, and can go down
// and up at chosen times. Every time a link comes up it gets a new session id, used by both
// ends (a session = one neighbour session of the real system). Packets are opaque payloads with
// a byte size; "reliable" packets model the control stream (a loss costs a retransmission
// delay, never the packet), unreliable ones model QUIC DATAGRAMs (a loss drops them).
// Deterministic for a given seed. Single-threaded.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "common/clock.h"

namespace qc::sim {

using NodeIndex = std::uint32_t;
using LinkId = std::uint32_t;
using SessionId = std::uint64_t;
using InterfaceId = std::uint32_t;

struct LinkParams {
  Duration latency = kMillisecond;  // one way
  double bandwidth_bps = 0;         // 0: unlimited (no serialisation delay, no queue)
  double loss = 0;                  // probability a transmission is lost
};

struct Packet {
  std::shared_ptr<const void> payload;
  std::size_t bytes = 0;
  bool reliable = true;
  std::uint32_t kind = 0;  // opaque to the network; counted per kind
};

class Network;

// What a simulated node implements. Callbacks get the network to send on and the virtual time.
class Node {
 public:
  virtual ~Node() = default;
  virtual void on_link_up(Network& net, SessionId session, NodeIndex peer, InterfaceId iface,
                          Timestamp now) = 0;
  virtual void on_link_down(Network& net, SessionId session, Timestamp now) = 0;
  virtual void on_packet(Network& net, SessionId session, const Packet& packet, Timestamp now) = 0;
  virtual void on_timeout(Network& net, Timestamp now) = 0;
  virtual Timestamp next_deadline() const = 0;
};

struct NetworkStats {
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;          // unreliable packets dropped by loss
  std::uint64_t dropped_down = 0;  // in flight when the link or node went down
  std::uint64_t bytes = 0;
  std::uint64_t events = 0;
  std::unordered_map<std::uint32_t, std::uint64_t> sent_by_kind;
};

class Network {
 public:
  explicit Network(std::uint64_t seed, Timestamp start = kSecond);

  NodeIndex add_node(std::unique_ptr<Node> node);
  // A link, up at the current time when `up` (both ends get on_link_up at once).
  LinkId add_link(NodeIndex a, NodeIndex b, LinkParams params, InterfaceId iface_a = 1,
                  InterfaceId iface_b = 1, bool up = true);
  void schedule_link(LinkId link, bool up, Timestamp at);
  // The node vanishes at `at`: its links go down for its neighbours, it gets no more calls.
  void schedule_node_down(NodeIndex node, Timestamp at);
  // The node freezes at `at` (a hung process): its links stay up, but it receives, sends and
  // times out nothing from then on. Neighbours notice only through their own timers.
  void schedule_node_freeze(NodeIndex node, Timestamp at);

  // Sends on `session` from `from`; silently dropped if the session is not up.
  void send(NodeIndex from, SessionId session, Packet packet);
  // Call after driving a node from outside (a test calling its API): re-reads its deadline.
  void wake(NodeIndex node);

  Timestamp now() const { return now_; }
  // Processes events up to and including time `t`; the clock ends at `t`.
  void run_until(Timestamp t);
  // Processes events until none is left before `limit`. True when the queue ran dry (quiet),
  // false when `limit` was reached first.
  bool run_until_quiet(Timestamp limit);
  // Processes events until no packet is in flight (timers alone do not count), or `limit`.
  // True when the traffic stopped.
  bool run_until_no_traffic(Timestamp limit);
  std::uint64_t in_flight() const { return in_flight_; }

  Node& node(NodeIndex i) { return *nodes_[i].node; }
  std::size_t node_count() const { return nodes_.size(); }
  std::size_t link_count() const { return links_.size(); }
  bool link_up(LinkId l) const { return links_[l].up; }
  // The node at the other end of `session` from `from`; nullopt when the session is not up.
  std::optional<NodeIndex> peer_of(NodeIndex from, SessionId session) const;
  const NetworkStats& stats() const { return stats_; }
  void reset_stats() { stats_ = NetworkStats{}; }
  std::uint64_t random();

 private:
  struct NodeSlot {
    std::unique_ptr<Node> node;
    bool alive = true;
    bool frozen = false;
    Timestamp wake = kNever;  // the wake event currently queued
    std::vector<LinkId> links;
  };
  struct Link {
    NodeIndex end[2];
    InterfaceId iface[2];
    LinkParams params;
    bool up = false;
    SessionId session = 0;
    Timestamp busy_until[2] = {0, 0};  // per direction, for bandwidth
  };
  enum class Kind : std::uint8_t { kDeliver, kLinkUp, kLinkDown, kNodeDown, kNodeFreeze, kWake };
  struct Event {
    Timestamp at;
    std::uint64_t seq;
    Kind kind;
    std::uint32_t target;  // node or link
    SessionId session;
    Packet packet;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void push(Event e);
  void dispatch(Event& e);
  void set_link(LinkId l, bool up);
  void reschedule(NodeIndex n);

  Timestamp now_;
  std::uint64_t seq_ = 0;
  std::uint64_t in_flight_ = 0;
  std::uint64_t rng_;
  SessionId next_session_ = 1;
  std::vector<NodeSlot> nodes_;
  std::vector<Link> links_;
  std::unordered_map<SessionId, LinkId> sessions_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  NetworkStats stats_;
};

}  // namespace qc::sim
