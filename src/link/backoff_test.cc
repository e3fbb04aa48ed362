#include "link/backoff.h"

#include <gtest/gtest.h>

namespace qc::link {
namespace {

TEST(BackoffTest, DoublesWithJitterCappedAndResets) {
  Backoff b(100 * kMillisecond, 1 * kSecond, 42);
  Duration expect_base = 100 * kMillisecond;
  for (int i = 0; i < 8; ++i) {
    Duration d = b.next();
    EXPECT_GE(d, expect_base / 2);
    EXPECT_LE(d, expect_base);
    expect_base = std::min<Duration>(expect_base * 2, kSecond);
  }
  EXPECT_EQ(b.base(), kSecond);
  b.reset();
  EXPECT_LE(b.next(), 100 * kMillisecond);
}

}  // namespace
}  // namespace qc::link
