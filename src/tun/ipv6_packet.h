// Strict IPv6 header parsing and cluster classification for VPN mode (layer 8, TUN front end).
//
// A packet read from the TUN or received on a channel is untrusted input: parse_ipv6() checks
// the fixed header only (version 6, payload length equal to what follows the header, so no
// jumbograms and no trailing bytes) and never reads past the buffer. Extension headers are not
// walked: `next_header` is the first one.
//
// Addressing (identity.h): node address = fd cc | cluster id[0..4) | partial id[0..10); the
// cluster prefix is the first 6 bytes (/48). Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "identity/identity.h"

namespace qc::tun {

constexpr std::size_t kIpv6HeaderSize = 40;
constexpr std::size_t kIpv6MinMtu = 1280;  // RFC 8200: every link carries 1280-byte packets
constexpr std::uint8_t kNextHeaderIcmpv6 = 58;
constexpr std::size_t kClusterPrefixSize = 6;  // bytes: fd cc + cluster id[0..4)

struct Ipv6Header {
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;  // 20 bits
  std::uint16_t payload_length = 0;
  std::uint8_t next_header = 0;
  std::uint8_t hop_limit = 0;
  identity::Ipv6 src{};
  identity::Ipv6 dst{};
};

// kParse when the buffer is shorter than 40 bytes, the version is not 6, or the payload length
// does not equal size - 40 (including payload length 0 with a payload: jumbograms are refused).
Result<Ipv6Header> parse_ipv6(ByteView packet);

// Where a destination address leads, seen from the node whose address is `self`.
enum class Destination {
  kSelf,         // our own node address
  kClusterPeer,  // another address in our cluster /48: the node with partial id `peer`
  kNotCluster,   // anything else (link-local, multicast, another prefix): never enters the mesh
};

struct Classification {
  Destination kind = Destination::kNotCluster;
  identity::PartialId peer{};  // set for kClusterPeer
};

Classification classify(const identity::Ipv6& dst, const identity::Ipv6& self);

// True when `a` is in the cluster /48 of `self`.
bool in_cluster(const identity::Ipv6& a, const identity::Ipv6& self);

// The partial id an address names (bytes 6..16); meaningful for cluster addresses only.
identity::PartialId partial_of_address(const identity::Ipv6& a);

// The address of the node with partial id `peer` in the cluster of `self`.
identity::Ipv6 peer_address(const identity::Ipv6& self, const identity::PartialId& peer);

// Anti-spoofing: a packet that arrived on the channel from `peer` must carry that peer's own
// address as its source. True when it does.
bool source_is_peer(const Ipv6Header& h, const identity::Ipv6& self,
                    const identity::PartialId& peer);

}  // namespace qc::tun
