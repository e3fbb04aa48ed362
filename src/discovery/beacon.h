// Beacon: the discovery datagram a node sends on each LAN interface (docs/discovery-peerdb.md).
//
// Wire format, version 1 (all integers big-endian), exactly 18 + n bytes:
//
//   offset  size  field
//   0       3     magic "QCB"
//   3       1     version (1)
//   4       1     flags: none defined in version 1; sent as 0, ignored on receipt
//   5       1     n = length of the cluster id prefix, 4..8
//   6       n     cluster id prefix (the first n bytes of the cluster id)
//   6+n     10    partial id of the sender
//   16+n    2     the sender's QUIC port (not 0)
//
// A beacon is a hint, never proof: the identity it claims is trusted only after the QUIC handshake.
// Pure functions, no state: safe from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/result.h"
#include "identity/identity.h"

namespace qc::discovery {

inline constexpr std::uint8_t kBeaconMagic[3] = {'Q', 'C', 'B'};
constexpr std::uint8_t kBeaconVersion = 1;
constexpr std::size_t kMinClusterPrefix = 4;
constexpr std::size_t kMaxClusterPrefix = 8;
constexpr std::size_t kBeaconHeaderSize = 6;  // magic, version, flags, prefix length
constexpr std::size_t kMinBeaconSize = kBeaconHeaderSize + kMinClusterPrefix + 10 + 2;  // 22
constexpr std::size_t kMaxBeaconSize = kBeaconHeaderSize + kMaxClusterPrefix + 10 + 2;  // 26

struct Beacon {
  std::uint8_t flags = 0;
  std::uint8_t cluster_prefix_len = kMaxClusterPrefix;           // 4..8
  std::array<std::uint8_t, kMaxClusterPrefix> cluster_prefix{};  // bytes past the length are 0
  identity::PartialId partial{};
  std::uint16_t quic_port = 0;
  bool operator==(const Beacon&) const = default;
};

// Our own beacon: the first `prefix_len` (clamped to 4..8) bytes of the cluster id.
Beacon make_beacon(const identity::ClusterId& cluster, const identity::PartialId& self,
                   std::uint16_t quic_port, std::size_t prefix_len = kMaxClusterPrefix);

// kInvalidArgument for a prefix length outside 4..8 or port 0.
Result<Bytes> encode_beacon(const Beacon& b);

// Strict: kParse for a wrong magic, length, prefix length, or port 0; kUnsupported for another
// version. Never reads past `data`, whatever it holds.
Result<Beacon> decode_beacon(ByteView data);

enum class BeaconClass {
  kOurs,          // our cluster, another node: a candidate neighbour
  kOtherCluster,  // the prefix does not match our cluster id
  kSelf,          // our own beacon, looped back
};
BeaconClass classify(const Beacon& b, const identity::ClusterId& cluster,
                     const identity::PartialId& self);

}  // namespace qc::discovery
