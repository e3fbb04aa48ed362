#include "discovery/beacon.h"

#include <algorithm>
#include <cstring>

namespace qc::discovery {

Beacon make_beacon(const identity::ClusterId& cluster, const identity::PartialId& self,
                   std::uint16_t quic_port, std::size_t prefix_len) {
  Beacon b;
  prefix_len = std::clamp(prefix_len, kMinClusterPrefix, kMaxClusterPrefix);
  b.cluster_prefix_len = static_cast<std::uint8_t>(prefix_len);
  std::copy_n(cluster.begin(), prefix_len, b.cluster_prefix.begin());
  b.partial = self;
  b.quic_port = quic_port;
  return b;
}

Result<Bytes> encode_beacon(const Beacon& b) {
  if (b.cluster_prefix_len < kMinClusterPrefix || b.cluster_prefix_len > kMaxClusterPrefix) {
    return Err(Errc::kInvalidArgument, "beacon cluster prefix must be 4 to 8 bytes");
  }
  if (b.quic_port == 0) return Err(Errc::kInvalidArgument, "beacon QUIC port must not be 0");
  Bytes out;
  out.reserve(kMaxBeaconSize);
  out.insert(out.end(), std::begin(kBeaconMagic), std::end(kBeaconMagic));
  out.push_back(kBeaconVersion);
  out.push_back(b.flags);
  out.push_back(b.cluster_prefix_len);
  out.insert(out.end(), b.cluster_prefix.begin(), b.cluster_prefix.begin() + b.cluster_prefix_len);
  out.insert(out.end(), b.partial.begin(), b.partial.end());
  out.push_back(static_cast<std::uint8_t>(b.quic_port >> 8));
  out.push_back(static_cast<std::uint8_t>(b.quic_port));
  return out;
}

Result<Beacon> decode_beacon(ByteView d) {
  if (d.size() < kBeaconHeaderSize) return Err(Errc::kParse, "beacon shorter than its header");
  if (std::memcmp(d.data(), kBeaconMagic, sizeof kBeaconMagic) != 0) {
    return Err(Errc::kParse, "not a beacon (bad magic)");
  }
  if (d[3] != kBeaconVersion) {
    return Err(Errc::kUnsupported, "beacon version " + std::to_string(d[3]) + " (we speak " +
                                       std::to_string(kBeaconVersion) + ")");
  }
  Beacon b;
  b.flags = d[4];
  const std::size_t n = d[5];
  if (n < kMinClusterPrefix || n > kMaxClusterPrefix) {
    return Err(Errc::kParse, "beacon cluster prefix length " + std::to_string(n));
  }
  if (d.size() != kBeaconHeaderSize + n + identity::kPartialIdSize + 2) {
    return Err(Errc::kParse, "beacon of " + std::to_string(d.size()) + " bytes, expected " +
                                 std::to_string(kBeaconHeaderSize + n + 12));
  }
  b.cluster_prefix_len = static_cast<std::uint8_t>(n);
  const std::uint8_t* p = d.data() + kBeaconHeaderSize;
  std::copy_n(p, n, b.cluster_prefix.begin());
  p += n;
  std::copy_n(p, identity::kPartialIdSize, b.partial.begin());
  p += identity::kPartialIdSize;
  b.quic_port = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
  if (b.quic_port == 0) return Err(Errc::kParse, "beacon QUIC port 0");
  return b;
}

BeaconClass classify(const Beacon& b, const identity::ClusterId& cluster,
                     const identity::PartialId& self) {
  const std::size_t n = std::min<std::size_t>(b.cluster_prefix_len, kMaxClusterPrefix);
  if (!std::equal(b.cluster_prefix.begin(), b.cluster_prefix.begin() + n, cluster.begin())) {
    return BeaconClass::kOtherCluster;
  }
  return b.partial == self ? BeaconClass::kSelf : BeaconClass::kOurs;
}

}  // namespace qc::discovery
