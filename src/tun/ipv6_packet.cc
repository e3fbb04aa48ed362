#include "tun/ipv6_packet.h"

#include <algorithm>

namespace qc::tun {

Result<Ipv6Header> parse_ipv6(ByteView p) {
  if (p.size() < kIpv6HeaderSize) {
    return Err(Errc::kParse, "IPv6 packet of " + std::to_string(p.size()) +
                                 " bytes is shorter "
                                 "than the 40-byte header");
  }
  if ((p[0] >> 4) != 6) {
    return Err(Errc::kParse, "IP version " + std::to_string(p[0] >> 4) + ", not 6");
  }
  Ipv6Header h;
  h.traffic_class = static_cast<std::uint8_t>(((p[0] & 0x0f) << 4) | (p[1] >> 4));
  h.flow_label = (static_cast<std::uint32_t>(p[1] & 0x0f) << 16) |
                 (static_cast<std::uint32_t>(p[2]) << 8) | p[3];
  h.payload_length = static_cast<std::uint16_t>((p[4] << 8) | p[5]);
  h.next_header = p[6];
  h.hop_limit = p[7];
  if (h.payload_length != p.size() - kIpv6HeaderSize) {
    return Err(Errc::kParse, "IPv6 payload length " + std::to_string(h.payload_length) +
                                 " does not match the " +
                                 std::to_string(p.size() - kIpv6HeaderSize) + " bytes present");
  }
  std::copy_n(p.begin() + 8, 16, h.src.begin());
  std::copy_n(p.begin() + 24, 16, h.dst.begin());
  return h;
}

bool in_cluster(const identity::Ipv6& a, const identity::Ipv6& self) {
  return std::equal(a.begin(), a.begin() + kClusterPrefixSize, self.begin());
}

identity::PartialId partial_of_address(const identity::Ipv6& a) {
  identity::PartialId p{};
  std::copy_n(a.begin() + kClusterPrefixSize, identity::kPartialIdSize, p.begin());
  return p;
}

identity::Ipv6 peer_address(const identity::Ipv6& self, const identity::PartialId& peer) {
  identity::Ipv6 a = self;
  std::copy_n(peer.begin(), identity::kPartialIdSize, a.begin() + kClusterPrefixSize);
  return a;
}

Classification classify(const identity::Ipv6& dst, const identity::Ipv6& self) {
  Classification c;
  if (dst == self) {
    c.kind = Destination::kSelf;
  } else if (in_cluster(dst, self)) {
    c.kind = Destination::kClusterPeer;
    c.peer = partial_of_address(dst);
  }
  return c;
}

bool source_is_peer(const Ipv6Header& h, const identity::Ipv6& self,
                    const identity::PartialId& peer) {
  return h.src == peer_address(self, peer);
}

}  // namespace qc::tun
