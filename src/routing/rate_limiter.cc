#include "routing/rate_limiter.h"

namespace qc::routing {

bool RateLimiter::allow(SessionId session, Timestamp now) {
  return buckets_.try_emplace(session, rate_, burst_).first->second.take(now);
}

}  // namespace qc::routing
