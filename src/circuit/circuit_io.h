// CircuitIo: what the data plane needs from the node, kept narrow so tests can use an in-memory
// twin. The node implements it over its SessionManagers (send_datagram, datagram_room, rtt) and
// its Router (forward, touch); session ids are the Router's route-session ids.
//
// Threading rule: called only on the node's event-loop thread, from DataPlane methods.
#pragma once

#include <cstdint>
#include <optional>

#include "circuit/packet.h"
#include "common/bytes.h"
#include "common/clock.h"

namespace qc::circuit {

enum class SendStatus {
  kSent,     // handed to the session
  kBlocked,  // the session's DATAGRAM queue is full: retry after DataPlane::on_datagrams_writable
  kTooBig,   // larger than the session's DATAGRAM room: never fits
  kClosed,   // no such session, or it is not up
};
const char* send_status_name(SendStatus s);

struct Hop {
  SessionId session = 0;
  Label label = 0;
};

class CircuitIo {
 public:
  virtual ~CircuitIo() = default;
  // One DATAGRAM on a neighbour session (link::Session::send_datagram).
  virtual SendStatus send_datagram(SessionId session, ByteView packet) = 0;
  // Largest DATAGRAM payload on the session now; 0 when the session is not up.
  virtual std::size_t datagram_room(SessionId session) = 0;
  // The session's smoothed RTT (0 if unknown).
  virtual Duration session_rtt(SessionId session) = 0;
  // Router::forward: the other side of a circuit this node relays; nullopt otherwise.
  virtual std::optional<Hop> forward(SessionId session, Label label) = 0;
  // Router::touch: refresh the circuit's expiry.
  virtual void touch(SessionId session, Label label, Timestamp now) = 0;
};

}  // namespace qc::circuit
