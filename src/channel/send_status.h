// The circuit layer's view of a session's DATAGRAM send: what a circuit::CircuitIo implemented
// over link::Session::send_datagram returns (the daemon's Node, testing::LoopbackNode). Here and
// not in link or circuit because circuit, the sans-IO core, sees no transport type and link sees
// no circuit type; the channel layer sees both.
#pragma once

#include "circuit/circuit_io.h"
#include "transport/connection_observer.h"

namespace qc::channel {

// kAccepted -> kSent, kBlocked -> kBlocked, kTooBig -> kTooBig; kUnsupported (no DATAGRAM on the
// session yet) and kInvalid (closed, or an empty datagram) -> kClosed.
circuit::SendStatus send_status_of(transport::DatagramStatus status);

}  // namespace qc::channel
