#include "peerdb/records.h"

#include <algorithm>

namespace qc::peerdb {

Result<EventKind> event_kind_from(std::uint32_t v) {
  if (v >= 1 && v <= kEventKindCount) return static_cast<EventKind>(v);
  return Err(Errc::kParse, "unknown event kind " + std::to_string(v));
}

std::string_view event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::kBeaconObserved:
      return "beacon";
    case EventKind::kSessionUp:
      return "session-up";
    case EventKind::kSessionDown:
      return "session-down";
    case EventKind::kRelaySeen:
      return "relay";
  }
  return "unknown";
}

Result<AddressKind> address_kind_from(std::uint32_t v) {
  if (v >= 1 && v <= 3) return static_cast<AddressKind>(v);
  return Err(Errc::kParse, "unknown address kind " + std::to_string(v));
}

UnixMs Peer::last_activity_ms() const {
  UnixMs t = first_seen_ms;
  for (auto s : last_seen_ms) t = std::max(t, s);
  for (const auto& a : addresses) t = std::max(t, a.last_seen_ms);
  return t;
}

std::uint64_t fnv1a64(ByteView b) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (auto x : b) {
    h ^= x;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace qc::peerdb
