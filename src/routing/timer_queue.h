// One min-heap of deadlines for every timer of the core. Entries are hints: the handler checks
// the owner's real deadline when a timer fires (lazy deletion), so moving a deadline later
// costs nothing and a stale entry is simply ignored.
#pragma once

#include <cstdint>
#include <queue>
#include <vector>

#include "common/clock.h"

namespace qc::routing {

enum class TimerKind : std::uint8_t {
  kSeen,        // a seen-probe entry's expiry
  kProbeEntry,  // a forwarded probe awaiting answers
  kCircuit,     // a circuit entry's expiry
  kParked,      // a message waiting for a PeerQuery answer
  kHold,        // a held circuit candidate
};

struct Timer {
  Timestamp when;
  TimerKind kind;
  std::uint64_t key;
  bool operator>(const Timer& o) const { return when > o.when; }
};

class TimerQueue {
 public:
  void push(Timestamp when, TimerKind kind, std::uint64_t key) {
    if (when != kNever) heap_.push(Timer{when, kind, key});
  }
  Timestamp next() const { return heap_.empty() ? kNever : heap_.top().when; }
  // Pops the earliest timer due at `now`; false when none is due.
  bool pop_due(Timestamp now, Timer& out) {
    if (heap_.empty() || heap_.top().when > now) return false;
    out = heap_.top();
    heap_.pop();
    return true;
  }
  std::size_t size() const { return heap_.size(); }

 private:
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> heap_;
};

}  // namespace qc::routing
