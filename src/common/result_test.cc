#include "common/result.h"

#include <gtest/gtest.h>

#include <memory>

namespace qc {
namespace {

Result<int> half(int x) {
  if (x % 2) return Err(Errc::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> quarter(int x) {
  auto h = half(x);
  QC_TRY(h);
  return half(*h);
}

TEST(Result, ValueAndError) {
  EXPECT_EQ(*half(8), 4);
  auto r = half(3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().to_string(), "invalid argument: odd");
  EXPECT_EQ(*quarter(8), 2);
  EXPECT_FALSE(quarter(6));
}

TEST(Result, MoveOnlyAndVoid) {
  Result<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p);
  auto owned = std::move(p).value();
  EXPECT_EQ(*owned, 5);
  Result<void> ok = Ok();
  EXPECT_TRUE(ok);
  Result<void> bad = Err(Errc::kIo, "disk");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kIo);
}

}  // namespace
}  // namespace qc
