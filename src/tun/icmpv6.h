// ICMPv6 error messages the VPN writes back into the TUN (RFC 4443), so that applications fail
// fast instead of waiting for a timeout: Packet Too Big when a packet exceeds what the path to its
// destination carries, Destination Unreachable when the mesh reports the destination unreachable.
//
// The error goes from our node address to the source of the offending packet, and carries as much
// of that packet as fits in a 1280-byte IPv6 packet. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "identity/identity.h"
#include "tun/ipv6_packet.h"

namespace qc::tun {

constexpr std::uint8_t kIcmpv6DestinationUnreachable = 1;
constexpr std::uint8_t kIcmpv6PacketTooBig = 2;

// Destination Unreachable codes used here.
enum class UnreachableCode : std::uint8_t {
  kNoRoute = 0,             // no route to the destination
  kAdminProhibited = 1,     // the destination's expose rules refuse it
  kAddressUnreachable = 3,  // the address names no node the mesh can reach
};

// The RFC 1071 one's-complement sum, folded to 16 bits and complemented, of the ICMPv6
// pseudo-header (src, dst, length, next header 58) and `message` (whose checksum field must be 0
// or the sum includes it: a correct message sums to 0).
std::uint16_t icmpv6_checksum(const identity::Ipv6& src, const identity::Ipv6& dst,
                              ByteView message);

// Whether RFC 4443 2.4(e) lets us answer `original` with an error: not when it is itself an
// ICMPv6 error (next header 58, type < 128, checked on the first header only), not when its
// source is unspecified or multicast, and not when its destination is multicast (except for Packet
// Too Big).
bool may_answer_with_error(const Ipv6Header& h, ByteView original, bool packet_too_big);

// Packet Too Big (type 2, code 0) reporting `mtu` (bytes), from `self` to the source of
// `original` (which must have parsed as `h`). nullopt when may_answer_with_error() says no.
std::optional<Bytes> make_packet_too_big(const identity::Ipv6& self, const Ipv6Header& h,
                                         ByteView original, std::uint32_t mtu);

// Destination Unreachable (type 1) with `code`, from `self` to the source of `original`.
// nullopt when may_answer_with_error() says no.
std::optional<Bytes> make_destination_unreachable(const identity::Ipv6& self, const Ipv6Header& h,
                                                  ByteView original, UnreachableCode code);

}  // namespace qc::tun
