// The value types the peer database stores: peers, events and cached routes.
//
// All timestamps are unix milliseconds (wall clock), because they survive restarts; 0 means
// "never". Plain values: copy and move freely, no threading rule of their own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "identity/identity.h"

namespace qc::peerdb {

// Milliseconds since the Unix epoch.
using UnixMs = std::uint64_t;

// What happened to (or about) a peer. The numeric values are stored on disk: never renumber.
enum class EventKind : std::uint8_t {
  kBeaconObserved = 1,  // a discovery beacon of our cluster named it
  kSessionUp = 2,       // a neighbour session to it came up (identity proven)
  kSessionDown = 3,     // that session went down
  kRelaySeen = 4,       // it appeared as a hop of a route probe
};
constexpr std::size_t kEventKindCount = 4;
// kParse on a value outside the enum.
Result<EventKind> event_kind_from(std::uint32_t v);
std::string_view event_kind_name(EventKind k);

// Where an address came from. Stored on disk: never renumber.
enum class AddressKind : std::uint8_t {
  kStatic = 1,   // the node's configuration named it
  kBeacon = 2,   // a beacon came from it
  kSession = 3,  // a session ran over it
};
Result<AddressKind> address_kind_from(std::uint32_t v);

struct PeerAddress {
  std::string host_port;  // "192.0.2.1:7420", "[fe80::1%eth0]:7420", "host.example:7420"
  AddressKind kind = AddressKind::kStatic;
  UnixMs last_seen_ms = 0;
  bool operator==(const PeerAddress&) const = default;
};

// One known peer. Keyed by its partial id; the full node id and certificate chain are filled in
// once a QUIC handshake has proven them.
struct Peer {
  identity::PartialId partial{};
  std::optional<identity::NodeId> node_id;
  std::vector<Bytes> cert_chain;  // DER, leaf first; empty until seen
  std::vector<PeerAddress> addresses;
  std::array<UnixMs, kEventKindCount> last_seen_ms{};  // indexed by EventKind - 1; 0 = never
  UnixMs first_seen_ms = 0;

  UnixMs last_seen(EventKind k) const { return last_seen_ms[static_cast<std::size_t>(k) - 1]; }
  // The latest of first_seen_ms, every last_seen_ms and every address's last_seen_ms: what
  // sweep() ages a peer by.
  UnixMs last_activity_ms() const;
  bool operator==(const Peer&) const = default;
};

// What the caller learnt about a peer; PeerDb::upsert_peer merges it into the stored record.
struct PeerUpdate {
  identity::PartialId partial{};
  // Set once a handshake proved it; must start with `partial`. A record that already holds a
  // different full id is not changed (kExists).
  std::optional<identity::NodeId> node_id;
  // Replaces the stored chain when set.
  std::optional<std::vector<Bytes>> cert_chain;
  // Added, or refreshed (kind and last_seen_ms) when host_port is already known.
  std::vector<PeerAddress> addresses;
  // When set, last_seen(*seen) becomes max(stored, now_ms).
  std::optional<EventKind> seen;
  UnixMs now_ms = 0;
};

// One entry of the bounded event log.
struct Event {
  std::uint64_t seq = 0;  // assigned by PeerDb::record_event; increasing, never reused
  EventKind kind = EventKind::kBeaconObserved;
  identity::PartialId peer{};
  std::uint32_t interface_id = 0;  // 0 when no interface applies
  UnixMs unix_ms = 0;
  std::string detail;  // free text for people (an address, a reason); at most 256 bytes
  bool operator==(const Event&) const = default;
};

// A complete route to a destination, as the routing core encoded it.
struct CachedRoute {
  identity::PartialId destination{};
  // Set by PeerDb::put_route: FNV-1a 64 of `route`, so putting the same route twice refreshes it.
  std::uint64_t route_id = 0;
  Bytes route;  // opaque here
  std::uint32_t hop_count = 0;
  UnixMs created_ms = 0;
  UnixMs last_used_ms = 0;  // 0 = never used
  bool operator==(const CachedRoute&) const = default;
};

// A listing: the records that decoded, and one error per record that did not (a corrupt record
// is reported, skipped, and removed by the next sweep()).
template <typename T>
struct Listing {
  std::vector<T> items;
  std::vector<Error> errors;
};

// FNV-1a 64 of bytes (the route id; not a security hash).
std::uint64_t fnv1a64(ByteView b);

}  // namespace qc::peerdb
