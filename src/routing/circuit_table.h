// The circuit table: one entry per circuit this node is on, as relay or endpoint.
//
// A circuit uses one label per link, chosen by the node that sends the CircuitInit over that
// link from its half of the label space (the node with the lower partial id uses 1..8191, the
// other 8192..16383), so both ends of a link agree on it without coordination. An entry maps
// (back session, back label) <-> (fwd session, fwd label); "back" is toward the originator,
// "fwd" toward the destination. Endpoints have one side only.
//
// Lookups by (session, label) are O(1). Handles are slot indexes, stable while the entry lives.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "routing/types.h"

namespace qc::routing {

enum class CircuitState : std::uint8_t { kPending, kEstablished };
enum class CircuitRole : std::uint8_t { kRelay, kOriginator, kDestination };

using CircuitHandle = std::uint32_t;

struct CircuitSide {
  SessionId session = 0;
  Label label = 0;  // 0: this side does not exist (endpoint)
  bool present() const { return label != 0; }
  friend bool operator==(const CircuitSide&, const CircuitSide&) = default;
};

struct CircuitEntry {
  CircuitId id = 0;
  CircuitSide back;  // toward the originator
  CircuitSide fwd;   // toward the destination
  Timestamp expiry = 0;
  CircuitState state = CircuitState::kPending;
  CircuitRole role = CircuitRole::kRelay;
  bool in_use = false;
  bool init_toward_destination = false;  // direction the CircuitInit travelled
  bool from_cache = false;               // set up from a cached route (originator side)
};

class CircuitTable {
 public:
  explicit CircuitTable(std::size_t capacity) : capacity_(capacity) {}

  // Allocates a label on `session` from [lo, hi] not used there; kLimit when none is free.
  Result<Label> allocate_label(SessionId session, Label lo, Label hi);
  // Adds an entry (its sides' labels must be free); kLimit when the table is full.
  Result<CircuitHandle> add(const CircuitEntry& e);
  // Sets a side of an existing entry (used when a label becomes known later).
  void set_side(CircuitHandle h, bool fwd, CircuitSide side);
  void remove(CircuitHandle h);

  CircuitEntry* get(CircuitHandle h);
  const CircuitEntry* get(CircuitHandle h) const;
  std::optional<CircuitHandle> lookup(SessionId session, Label label) const;
  // The other side of the circuit arriving on (session, label), when it is ESTABLISHED and this
  // node is a relay. O(1).
  std::optional<CircuitSide> forward(SessionId session, Label label) const;
  // Handles of every entry with a side on `session`.
  std::vector<CircuitHandle> on_session(SessionId session) const;
  void forget_session(SessionId session) { cursor_.erase(session); }

  std::size_t size() const { return count_; }
  std::size_t capacity() const { return capacity_; }
  template <typename F>
  void for_each(F f) const {
    for (CircuitHandle h = 0; h < slots_.size(); ++h)
      if (slots_[h].in_use) f(h, slots_[h]);
  }

  // Approximate bytes per relay entry: the slot plus two index nodes.
  static constexpr std::size_t kBytesPerRelayEntry =
      sizeof(CircuitEntry) +
      2 * (sizeof(std::uint64_t) + sizeof(CircuitHandle) + 2 * sizeof(void*) + sizeof(std::size_t));

 private:
  static std::uint64_t key(SessionId s, Label l) { return (s << 14) ^ l; }
  struct Key {
    SessionId session;
    Label label;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>()(key(k.session, k.label));
    }
  };
  std::size_t capacity_;
  std::size_t count_ = 0;
  std::vector<CircuitEntry> slots_;
  std::vector<CircuitHandle> free_;
  std::unordered_map<Key, CircuitHandle, KeyHash> index_;
  std::unordered_map<SessionId, Label> cursor_;  // next label to try per session
};

}  // namespace qc::routing
