// Byte buffers and views, hex and base32 (RFC 4648) text forms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace qc {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lower-case hex, two characters per byte.
std::string to_hex(ByteView b);
// Accepts upper or lower case; fails on odd length or a non-hex character.
Result<Bytes> from_hex(std::string_view s);

// RFC 4648 base32 (alphabet a-z2-7), lower case, no padding. 10 bytes -> 16 characters.
std::string base32_encode(ByteView b);
// Accepts upper or lower case, no padding; fails on any other character or on a length that
// cannot come from whole bytes, or when the unused trailing bits are not zero.
Result<Bytes> base32_decode(std::string_view s);

}  // namespace qc
