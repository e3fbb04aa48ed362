// Packet builders shared by the tun tests (test code only).
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/bytes.h"
#include "identity/identity.h"
#include "tun/icmpv6.h"
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

// The one's complement checksum of an upper-layer packet with the IPv6 pseudo-header.
inline std::uint16_t l4_checksum(const identity::Ipv6& src, const identity::Ipv6& dst,
                                 std::uint8_t next_header, ByteView l4) {
  std::uint32_t sum = 0;
  auto add = [&](ByteView b) {
    for (std::size_t i = 0; i < b.size(); i += 2)
      sum += static_cast<std::uint32_t>(b[i] << 8 | (i + 1 < b.size() ? b[i + 1] : 0));
  };
  add(ByteView(src.data(), src.size()));
  add(ByteView(dst.data(), dst.size()));
  sum += static_cast<std::uint32_t>(l4.size() >> 16) + static_cast<std::uint32_t>(l4.size() & 0xffff);
  sum += next_header;
  add(l4);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

// A TCP segment with a correct checksum: `flags` (0x10 ACK, 0x08 PSH, ...), `options` after the
// 20-byte header (a multiple of 4 bytes), then `payload`.
inline Bytes make_tcp(const identity::Ipv6& src, std::uint16_t sport, const identity::Ipv6& dst,
                      std::uint16_t dport, std::uint32_t seq, std::uint32_t ack,
                      std::uint8_t flags, ByteView payload, ByteView options = {}) {
  std::size_t header = 20 + options.size();
  Bytes p = make_packet(src, dst, header + payload.size(), 6);
  std::uint8_t* t = p.data() + kIpv6HeaderSize;
  std::fill(t, t + header, 0);
  auto put = [](std::uint8_t* at, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i, v >>= 8) at[i] = static_cast<std::uint8_t>(v);
  };
  put(t, sport, 2);
  put(t + 2, dport, 2);
  put(t + 4, seq, 4);
  put(t + 8, ack, 4);
  t[12] = static_cast<std::uint8_t>(header / 4 << 4);
  t[13] = flags;
  put(t + 14, 512, 2);  // window
  std::copy(options.begin(), options.end(), t + 20);
  std::copy(payload.begin(), payload.end(), t + header);
  put(t + 16, l4_checksum(src, dst, 6, ByteView(t, header + payload.size())), 2);
  return p;
}

// An ICMPv6 echo request with a correct checksum.
inline Bytes make_echo_request(const identity::Ipv6& src, const identity::Ipv6& dst,
                               std::size_t data_size = 16) {
  Bytes p = make_packet(src, dst, 8 + data_size, kNextHeaderIcmpv6, 128);
  std::uint8_t* m = p.data() + kIpv6HeaderSize;
  m[1] = 0;  // code
  m[2] = m[3] = 0;
  std::uint16_t c = icmpv6_checksum(src, dst, ByteView(m, 8 + data_size));
  m[2] = static_cast<std::uint8_t>(c >> 8);
  m[3] = static_cast<std::uint8_t>(c);
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
