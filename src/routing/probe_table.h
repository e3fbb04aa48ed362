// Forwarded probes awaiting answers (the dead-end aggregation state).
//
// An entry is made when this node forwards (or originates) a probe copy to n neighbours; each of
// the n sends gets a hop-local tag. Every answer (ProbeResult with the tag, from the session the
// copy went to) settles one child. The entry answers its upstream REACHED on the first REACHED,
// or DEAD_END once all children settled without one. Bounded; over capacity the caller drops the
// probe and answers dead-end.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "routing/types.h"

namespace qc::routing {

struct ProbeEntry {
  SessionId upstream = 0;   // where the copy came from (when has_upstream)
  std::uint64_t nonce = 0;  // the probe's nonce (originator entries: to find the build)
  Timestamp expiry = 0;     // local time: unanswered children count as dead ends after this
  std::uint32_t upstream_tag = 0;
  std::uint32_t outstanding = 0;  // children not yet settled
  bool has_upstream = false;      // false at the originator and for re-offered copies
  bool answered = false;          // the upstream answer was sent
  bool reached = false;           // a child answered REACHED
};

struct ProbeChild {
  std::uint32_t entry = 0;
  SessionId session = 0;
};

// What settling a child did to its entry.
struct Settled {
  std::uint32_t entry_id = 0;
  ProbeEntry entry;            // a copy, after the update
  bool send_reached = false;   // answer REACHED upstream now
  bool send_dead_end = false;  // answer DEAD_END upstream now
  bool complete = false;       // all children settled; the entry was removed
};

class ProbeTable {
 public:
  explicit ProbeTable(std::size_t capacity) : capacity_(capacity) {}

  // A new entry with no children yet; nullopt when full.
  std::optional<std::uint32_t> add(const ProbeEntry& e);
  // Adds a child sent on `session` and returns its tag (never 0).
  std::uint32_t add_child(std::uint32_t entry, SessionId session);
  // Settles the child `tag` answered on `session` with kind reached/dead-end. nullopt when the
  // tag is unknown or came from another session (a stray or forged answer: count and drop).
  std::optional<Settled> settle(std::uint32_t tag, SessionId session, bool reached);
  // Settles as dead ends every child sent on `session` (the session went down).
  std::vector<Settled> settle_session(SessionId session);
  // Settles as dead ends every child of `entry` (it expired at `now`); nullopt when the entry is
  // gone or not yet expired.
  std::optional<Settled> expire(std::uint32_t entry, Timestamp now);
  // Removes an entry that has no children.
  void remove(std::uint32_t entry) { entries_.erase(entry); }
  const ProbeEntry* find(std::uint32_t entry) const;
  std::size_t size() const { return entries_.size(); }
  std::size_t children() const { return children_.size(); }

  static constexpr std::size_t kBytesPerEntry =
      sizeof(ProbeEntry) + sizeof(std::uint32_t) + 2 * sizeof(void*) + sizeof(std::size_t);
  static constexpr std::size_t kBytesPerChild =
      sizeof(ProbeChild) + sizeof(std::uint32_t) + 2 * sizeof(void*) + sizeof(std::size_t);

 private:
  Settled finish(std::uint32_t id, ProbeEntry& e, bool reached);
  std::size_t capacity_;
  std::uint32_t next_entry_ = 1;
  std::uint32_t next_tag_ = 1;
  std::unordered_map<std::uint32_t, ProbeEntry> entries_;
  std::unordered_map<std::uint32_t, ProbeChild> children_;
};

}  // namespace qc::routing
