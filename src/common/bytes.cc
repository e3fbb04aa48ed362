#include "common/bytes.h"

#include <array>

namespace qc {

namespace {
constexpr char kHex[] = "0123456789abcdef";
constexpr char kB32[] = "abcdefghijklmnopqrstuvwxyz234567";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}
}  // namespace

std::string to_hex(ByteView b) {
  std::string s;
  s.reserve(b.size() * 2);
  for (auto x : b) {
    s.push_back(kHex[x >> 4]);
    s.push_back(kHex[x & 15]);
  }
  return s;
}

Result<Bytes> from_hex(std::string_view s) {
  if (s.size() % 2) return Err(Errc::kParse, "hex string has an odd number of digits");
  Bytes out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return Err(Errc::kParse, "not a hex digit in '" + std::string(s) + "'");
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string base32_encode(ByteView b) {
  std::string s;
  s.reserve((b.size() * 8 + 4) / 5);
  std::uint32_t acc = 0;
  int bits = 0;
  for (auto x : b) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      s.push_back(kB32[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) s.push_back(kB32[(acc << (5 - bits)) & 31]);
  return s;
}

Result<Bytes> base32_decode(std::string_view s) {
  // Valid unpadded lengths mod 8: 0, 2, 4, 5, 7.
  static constexpr std::array<bool, 8> kValidTail = {true, false, true, false, true, true, false, true};
  if (!kValidTail[s.size() % 8]) return Err(Errc::kParse, "base32 text has an impossible length");
  Bytes out;
  out.reserve(s.size() * 5 / 8);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = b32_value(c);
    if (v < 0) return Err(Errc::kParse, std::string("'") + c + "' is not a base32 character");
    acc = (acc << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(acc >> (bits - 8)));
      bits -= 8;
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    return Err(Errc::kParse, "base32 text has non-zero trailing bits");
  return out;
}

}  // namespace qc
