#include "common/bytes.h"

#include <gtest/gtest.h>

namespace qc {
namespace {

// RFC 4648 section 10 test vectors (lower-cased, padding removed).
TEST(Base32, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {
      {"", ""},         {"f", "my"},           {"fo", "mzxq"},
      {"foo", "mzxw6"}, {"foob", "mzxw6yq"},   {"fooba", "mzxw6ytb"},
      {"foobar", "mzxw6ytboi"},
  };
  for (auto [plain, enc] : v) {
    EXPECT_EQ(base32_encode(as_bytes(plain)), enc);
    auto d = base32_decode(enc);
    ASSERT_TRUE(d) << enc;
    EXPECT_EQ(std::string(as_chars(*d)), plain);
  }
}

TEST(Base32, TenBytesIsSixteenChars) {
  Bytes b(10, 0xff);
  EXPECT_EQ(base32_encode(b).size(), 16u);
}

TEST(Base32, RejectsBadInput) {
  EXPECT_FALSE(base32_decode("mzxw6yq!"));   // bad character
  EXPECT_FALSE(base32_decode("m"));          // impossible length
  EXPECT_FALSE(base32_decode("mzz"));        // impossible length
  EXPECT_FALSE(base32_decode("mz"));         // non-zero trailing bits ('z' = 25 -> low bits set)
  EXPECT_TRUE(base32_decode("MZXW6YTB"));    // upper case accepted
}

TEST(Hex, RoundTripAndErrors) {
  Bytes b = {0x00, 0x7f, 0xff, 0x10};
  EXPECT_EQ(to_hex(b), "007fff10");
  EXPECT_EQ(*from_hex("007FFF10"), b);
  EXPECT_FALSE(from_hex("abc"));
  EXPECT_FALSE(from_hex("zz"));
}

}  // namespace
}  // namespace qc
