// Packet builders shared by the tun tests (test code only).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/bytes.h"
#include "identity/identity.h"
#include "tun/ipv6_packet.h"

namespace qc::tun::testing {

// An IPv6 packet from `src` to `dst` with `next_header` and `payload_size` bytes of payload
// (filled with a counting pattern; for ICMPv6 the first byte is `icmp_type`).
inline Bytes make_packet(const identity::Ipv6& src, const identity::Ipv6& dst,
                         std::size_t payload_size, std::uint8_t next_header = 17,
                         std::uint8_t icmp_type = 128) {
  Bytes p(kIpv6HeaderSize + payload_size, 0);
  p[0] = 0x60;
  p[4] = static_cast<std::uint8_t>(payload_size >> 8);
  p[5] = static_cast<std::uint8_t>(payload_size);
  p[6] = next_header;
  p[7] = 64;
  std::copy(src.begin(), src.end(), p.begin() + 8);
  std::copy(dst.begin(), dst.end(), p.begin() + 24);
  for (std::size_t i = 0; i < payload_size; ++i) {
    p[kIpv6HeaderSize + i] = static_cast<std::uint8_t>(i);
  }
  if (next_header == kNextHeaderIcmpv6 && payload_size > 0) p[kIpv6HeaderSize] = icmp_type;
  return p;
}

// Cluster id 12 34 56 78 ..., and node addresses in it.
inline identity::ClusterId test_cluster() {
  identity::ClusterId c{};
  c[0] = 0x12;
  c[1] = 0x34;
  c[2] = 0x56;
  c[3] = 0x78;
  return c;
}
inline identity::PartialId partial(std::uint8_t fill) {
  identity::PartialId p{};
  p.fill(fill);
  return p;
}
inline identity::Ipv6 node(std::uint8_t fill) {
  return identity::address_of(test_cluster(), partial(fill));
}

}  // namespace qc::tun::testing
