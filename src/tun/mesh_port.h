// What the VPN needs from the mesh, as a narrow interface the Node implements over its channels
// (and tests implement with a fake). Everything is keyed by the peer's partial id, the part of a
// cluster address that names a node.
//
// Threading: called on the node's event-loop thread only, like VpnRouter.
#pragma once

#include <cstddef>

#include "common/bytes.h"
#include "identity/identity.h"

namespace qc::tun {

class MeshPort {
 public:
  virtual ~MeshPort() = default;

  enum class Status {
    kSent,         // handed to the channel as one DATAGRAM (delivery is still best effort)
    kNotReady,     // no usable channel yet (or it cannot take a datagram now): queue and wait
    kTooBig,       // larger than the channel's datagram room; `max_packet` says how large fits
    kUnreachable,  // the routing core says no route to this peer
  };
  struct SendResult {
    Status status = Status::kNotReady;
    std::size_t max_packet = 0;  // for kTooBig: the largest IPv6 packet the path carries (bytes)
  };

  // Sends one IPv6 packet to the peer as a channel DATAGRAM. Must not call back into VpnRouter.
  virtual SendResult send_datagram(const identity::PartialId& peer, ByteView packet) = 0;

  // Asks the mesh to open a channel (and circuits) to `peer`; called once when packets start
  // waiting for it (after a kNotReady). Idempotent. The mesh must answer later, from its own
  // event, with VpnRouter::on_peer_ready() once the channel takes datagrams (also when it was
  // only busy) or on_peer_unreachable(); without an answer the packets expire after the router's
  // queue_timeout as unreachable.
  virtual void want_peer(const identity::PartialId& peer) = 0;
};

}  // namespace qc::tun
