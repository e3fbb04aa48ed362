#include "tun/inbound_filter.h"

namespace qc::tun {
namespace {

std::uint16_t be16(ByteView p, std::size_t at) {
  return static_cast<std::uint16_t>((p[at] << 8) | p[at + 1]);
}

}  // namespace

void InboundFilter::on_outgoing(const Ipv6Header& h, ByteView packet, Timestamp now) {
  if (h.next_header != kNextHeaderUdp || packet.size() < kIpv6HeaderSize + 8) return;
  std::uint16_t our_port = be16(packet, kIpv6HeaderSize);
  std::uint16_t peer_port = be16(packet, kIpv6HeaderSize + 2);
  flows_[Flow{h.dst, peer_port, our_port}] = now;
  if (flows_.size() <= config_.max_udp_flows) return;
  // Over the bound: forget the flow idle the longest (rare; a linear scan is fine).
  auto oldest = flows_.begin();
  for (auto it = flows_.begin(); it != flows_.end(); ++it)
    if (it->second < oldest->second) oldest = it;
  flows_.erase(oldest);
}

bool InboundFilter::allow(const Ipv6Header& h, ByteView packet, Timestamp now) {
  switch (h.next_header) {
    case kNextHeaderIcmpv6:
      return true;
    case kNextHeaderTcp: {
      if (packet.size() < kIpv6HeaderSize + 20) return false;
      std::uint16_t dst_port = be16(packet, kIpv6HeaderSize + 2);
      std::uint8_t flags = packet[kIpv6HeaderSize + 13];
      bool syn = (flags & 0x02) != 0, ack = (flags & 0x10) != 0;
      if (syn && !ack) return config_.ports.count(dst_port) > 0;
      return true;
    }
    case kNextHeaderUdp: {
      if (packet.size() < kIpv6HeaderSize + 8) return false;
      std::uint16_t src_port = be16(packet, kIpv6HeaderSize);
      std::uint16_t dst_port = be16(packet, kIpv6HeaderSize + 2);
      if (config_.ports.count(dst_port)) return true;
      auto it = flows_.find(Flow{h.src, src_port, dst_port});
      if (it == flows_.end()) return false;
      if (now - it->second > config_.udp_flow_timeout) {
        flows_.erase(it);
        return false;
      }
      return true;
    }
    default:
      return false;
  }
}

}  // namespace qc::tun
