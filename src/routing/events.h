// What the routing core tells its embedder (polled with Router::poll_event()).
#pragma once

#include <variant>
#include <vector>

#include "routing/routing_pb.h"
#include "routing/types.h"

namespace qc::routing {

// A circuit this node is an endpoint of became ESTABLISHED.
struct CircuitUp {
  CircuitId circuit_id = 0;
  NodeId remote{};          // the node at the other end
  bool originator = false;  // true when this node sent the probe (or replayed the route)
  SessionId session = 0;    // our neighbour session on the circuit
  Label label = 0;          // the circuit's label on that session
  RouteEstablish route;     // the full signed hop list and the destination's signature
};

enum class CloseReason { kClosed, kNoRoute, kRejected, kLinkDown, kExpired };

// A circuit this node is an endpoint of is gone (closed by a peer, link down, or expired).
struct CircuitDown {
  CircuitId circuit_id = 0;
  NodeId remote{};
  CloseReason reason = CloseReason::kClosed;
  SessionId session = 0;  // our side, as in CircuitUp
  Label label = 0;
  RouteEstablish route;
};

// Every branch of a probe to `peer` answered dead-end: the peer is unreachable now.
struct Unreachable {
  PeerPrefix peer;
  std::uint64_t nonce = 0;
};

// Every branch of a probe this node originated has answered (probe statistics).
struct ProbeDone {
  PeerPrefix peer;
  std::uint64_t nonce = 0;
  bool reached = false;
  Duration elapsed = 0;  // from sending to the last answer
};

using Event = std::variant<CircuitUp, CircuitDown, Unreachable, ProbeDone>;

// A message to send on a neighbour session.
struct Outgoing {
  SessionId session = 0;
  RoutingMessage message;
};

}  // namespace qc::routing
