#include "routing/rate_limiter.h"

#include <gtest/gtest.h>

namespace qc::routing {
namespace {

TEST(RateLimiter, BurstThenRate) {
  RateLimiter r(10, 5);
  int ok = 0;
  for (int i = 0; i < 20; ++i) ok += r.allow(1, kSecond);
  EXPECT_EQ(ok, 5);
  EXPECT_TRUE(r.allow(2, kSecond));  // per session
  EXPECT_FALSE(r.allow(1, kSecond + 50 * kMillisecond));
  EXPECT_TRUE(r.allow(1, kSecond + 100 * kMillisecond));
  ok = 0;
  for (int i = 0; i < 20; ++i) ok += r.allow(1, 100 * kSecond);
  EXPECT_EQ(ok, 5);  // never more than the burst
}

}  // namespace
}  // namespace qc::routing
