#include "routing/rate_limiter.h"

namespace qc::routing {

bool RateLimiter::allow(SessionId session, Timestamp now) {
  auto [it, fresh] = buckets_.try_emplace(session, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh && now > b.last) {
    b.tokens += static_cast<double>(now - b.last) * rate_ / static_cast<double>(kSecond);
    if (b.tokens > burst_) b.tokens = burst_;
  }
  if (now > b.last) b.last = now;
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace qc::routing
