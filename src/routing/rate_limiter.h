// Per-neighbour-session token buckets for incoming probes. Time is passed in.
#pragma once

#include <unordered_map>

#include "common/clock.h"
#include "common/token_bucket.h"
#include "routing/types.h"

namespace qc::routing {

class RateLimiter {
 public:
  // `rate` tokens per second, at most `burst` stored; a new session starts full.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst) {}
  // Takes one token for `session`; false when none is left (the caller drops and counts).
  bool allow(SessionId session, Timestamp now);
  void remove(SessionId session) { buckets_.erase(session); }
  std::size_t size() const { return buckets_.size(); }

 private:
  double rate_;
  double burst_;
  std::unordered_map<SessionId, TokenBucket> buckets_;
};

}  // namespace qc::routing
