// RFC 1071 one's-complement sums for the checksums of IPv6 upper layers (ICMPv6, TCP, UDP): one
// implementation for the ICMPv6 errors we build, the TCP segments the coalescer merges or cuts,
// and the checksums a TUN device leaves partial. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace qc::tun {

// Adds the 16-bit big-endian words of `b` (an odd last byte padded with 0) to `sum`, folded to
// 16 bits.
std::uint32_t checksum_add(std::uint32_t sum, ByteView b);

// The IPv6 pseudo-header's sum (source, destination, upper-layer length, next header), folded
// and not complemented: what a CHECKSUM_PARTIAL packet carries in its checksum field, and where a
// full checksum starts.
std::uint32_t pseudo_header_sum(ByteView src, ByteView dst, std::size_t length,
                                std::uint8_t next_header);

// The checksum of a running sum: its complement.
inline std::uint16_t checksum_of(std::uint32_t sum) {
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace qc::tun
