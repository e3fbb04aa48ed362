#include "tun/icmpv6.h"

#include <algorithm>

#include "tun/inet_checksum.h"

namespace qc::tun {
namespace {

constexpr std::uint8_t kHopLimit = 64;

bool is_multicast(const identity::Ipv6& a) {
  return a[0] == 0xff;
}
bool is_unspecified(const identity::Ipv6& a) {
  return std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; });
}

// An ICMPv6 error of `type`/`code` with the 4-byte field `word`, quoting `original`.
Bytes make_error(const identity::Ipv6& self, const identity::Ipv6& to, std::uint8_t type,
                 std::uint8_t code, std::uint32_t word, ByteView original) {
  constexpr std::size_t kIcmpHeader = 8;
  std::size_t quoted = std::min(original.size(), kIpv6MinMtu - kIpv6HeaderSize - kIcmpHeader);
  std::size_t icmp_len = kIcmpHeader + quoted;
  Bytes p(kIpv6HeaderSize + icmp_len, 0);
  p[0] = 0x60;
  p[4] = static_cast<std::uint8_t>(icmp_len >> 8);
  p[5] = static_cast<std::uint8_t>(icmp_len);
  p[6] = kNextHeaderIcmpv6;
  p[7] = kHopLimit;
  std::copy(self.begin(), self.end(), p.begin() + 8);
  std::copy(to.begin(), to.end(), p.begin() + 24);
  std::uint8_t* m = p.data() + kIpv6HeaderSize;
  m[0] = type;
  m[1] = code;
  m[4] = static_cast<std::uint8_t>(word >> 24);
  m[5] = static_cast<std::uint8_t>(word >> 16);
  m[6] = static_cast<std::uint8_t>(word >> 8);
  m[7] = static_cast<std::uint8_t>(word);
  std::copy_n(original.begin(), quoted, m + kIcmpHeader);
  std::uint16_t sum = icmpv6_checksum(self, to, ByteView(m, icmp_len));
  m[2] = static_cast<std::uint8_t>(sum >> 8);
  m[3] = static_cast<std::uint8_t>(sum);
  return p;
}

}  // namespace

std::uint16_t icmpv6_checksum(const identity::Ipv6& src, const identity::Ipv6& dst,
                              ByteView message) {
  return checksum_of(
      checksum_add(pseudo_header_sum(src, dst, message.size(), kNextHeaderIcmpv6), message));
}

bool may_answer_with_error(const Ipv6Header& h, ByteView original, bool packet_too_big) {
  if (is_unspecified(h.src) || is_multicast(h.src)) return false;
  if (is_multicast(h.dst) && !packet_too_big) return false;
  if (h.next_header == kNextHeaderIcmpv6) {
    // An ICMPv6 message without its type byte is not worth answering either.
    if (original.size() <= kIpv6HeaderSize) return false;
    if (original[kIpv6HeaderSize] < 128) return false;
  }
  return true;
}

std::optional<Bytes> make_packet_too_big(const identity::Ipv6& self, const Ipv6Header& h,
                                         ByteView original, std::uint32_t mtu) {
  if (!may_answer_with_error(h, original, /*packet_too_big=*/true)) return std::nullopt;
  return make_error(self, h.src, kIcmpv6PacketTooBig, 0, mtu, original);
}

std::optional<Bytes> make_destination_unreachable(const identity::Ipv6& self, const Ipv6Header& h,
                                                  ByteView original, UnreachableCode code) {
  if (!may_answer_with_error(h, original, /*packet_too_big=*/false)) return std::nullopt;
  return make_error(self, h.src, kIcmpv6DestinationUnreachable, static_cast<std::uint8_t>(code), 0,
                    original);
}

}  // namespace qc::tun
