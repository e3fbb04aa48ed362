// Where a SOCKS5 CONNECT goes: a mesh peer, or a host outside the mesh.
//
// Mesh destinations (all through identity::parse_peer, with the node's suffix and cluster):
//   - a domain "<text id>.<suffix>"                       faqmce7yybsswacf.fuse
//   - a domain that is a bare text id                     faqmce7yybsswacf
//   - a domain that is a hex node id prefix (10..32 B)    0a1b2c...(20..64 hex digits)
//   - a cluster IPv6 address, as address type IPv6 or as a domain literal ("fdcc:..." /
//   "[fdcc:..]")
// A prefix is only a *candidate*: whether it names exactly one known peer is decided by whoever
// dials it (an ambiguous or unknown prefix fails the dial with kNotFound -> host unreachable).
// Everything else is an outside destination, allowed only when the node lets traffic out
// directly; otherwise classify() fails with kLimit (reply "not allowed by ruleset").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/result.h"
#include "front/socks5_protocol.h"
#include "identity/identity.h"

namespace qc::front {

struct DestinationPolicy {
  std::string suffix = std::string(identity::kDefaultSuffix);
  // When set, cluster IPv6 addresses of other clusters are refused.
  std::optional<identity::ClusterId> cluster;
  // Let non-mesh destinations out directly from this node.
  bool allow_direct = false;
};

struct Destination {
  enum class Kind { kMesh, kOutside };
  Kind kind = Kind::kOutside;
  identity::NodeIdPrefix peer;  // kMesh: the named peer (10..32 bytes of its node id)
  socks5::Address address;      // what the client asked for, port included
  std::uint16_t port() const { return address.port; }
  std::string to_string() const { return address.to_string(); }
};

// Errors: kLimit for an outside destination that policy keeps in (reply 0x02); kNotFound for a
// name in the mesh's namespace (under the suffix, or in fdcc::/16) that names no valid peer
// (reply 0x04).
Result<Destination> classify(const socks5::Address& address, const DestinationPolicy& policy);

// The one node id among `known` (e.g. the peer database) that `prefix` matches. kNotFound when
// none matches or when several do (an ambiguous partial id is refused, never guessed).
Result<identity::NodeId> resolve_peer(const identity::NodeIdPrefix& prefix,
                                      std::span<const identity::NodeId> known);

}  // namespace qc::front
