// libFuzzer target for the VPN's packet input (src/tun): arbitrary bytes as a packet read from
// the TUN and as a datagram received from a peer, through parse_ipv6, classify, the ICMPv6 error
// builders and a VpnRouter over the in-memory TUN and a mesh whose answer byte 0 picks. Must never
// crash, hang or leak, and every ICMPv6 error it builds must parse and carry a valid checksum.
//
// Input layout: byte 0 = the mesh's answer (low 2 bits) and the path size (the rest); the rest is
// the packet. Bit 7 of byte 0 turns the expose rules (InboundFilter) on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tun/icmpv6.h"
#include "tun/ipv6_packet.h"
#include "tun/vpn_router.h"

namespace {

using qc::tun::MeshPort;

class ScriptedMesh : public MeshPort {
 public:
  explicit ScriptedMesh(std::uint8_t script) : script_(script) {}
  SendResult send_datagram(const qc::identity::PartialId&, qc::ByteView) override {
    static constexpr Status kStatus[] = {Status::kSent, Status::kNotReady, Status::kTooBig,
                                         Status::kUnreachable};
    return {kStatus[script_ & 3], 1200u + (script_ >> 2) * 4u};
  }
  void want_peer(const qc::identity::PartialId&) override {}

 private:
  std::uint8_t script_;
};

qc::identity::Ipv6 self_address() {
  qc::identity::Ipv6 a{0xfd, 0xcc, 0x12, 0x34, 0x56, 0x78};
  for (std::size_t i = 6; i < a.size(); ++i) a[i] = 0xa1;
  return a;
}

// An ICMPv6 error we built must be a valid IPv6 packet of at most 1280 bytes with a good sum.
void check_error(const qc::Bytes& p) {
  auto h = qc::tun::parse_ipv6(p);
  if (!h || p.size() > qc::tun::kIpv6MinMtu || h->next_header != qc::tun::kNextHeaderIcmpv6 ||
      qc::tun::icmpv6_checksum(h->src, h->dst, qc::ByteView(p).subspan(40)) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::uint8_t script = data[0];
  qc::ByteView packet(data + 1, size - 1);
  const auto self = self_address();

  auto h = qc::tun::parse_ipv6(packet);
  if (h) {
    (void)qc::tun::classify(h->dst, self);
    if (auto e = qc::tun::make_packet_too_big(self, *h, packet, 1280)) check_error(*e);
    if (auto e = qc::tun::make_destination_unreachable(
            self, *h, packet, qc::tun::UnreachableCode::kAddressUnreachable)) {
      check_error(*e);
    }
  }

  qc::tun::MemoryTun tun;
  ScriptedMesh mesh(script);
  qc::tun::VpnRouter::Config config;
  config.self = self;
  config.queue_packets = 2;
  // The expose rules (InboundFilter) on every other input: port 22 open, flows remembered.
  if (script & 0x80) config.filter = qc::tun::InboundFilter::Config{{22}, qc::kSecond, 4};
  qc::tun::VpnRouter router(config, tun, mesh);
  router.on_tun_packet(1, packet);
  router.on_tun_packet(2, packet);
  router.on_tun_packet(3, packet);
  router.on_peer_ready(qc::tun::partial_of_address(h ? h->dst : self), 4);
  router.on_timeout(qc::kNever - 1);
  for (const auto& w : tun.take_written()) check_error(w);
  // As a datagram from the peer its source names (or us when it does not parse), and from a fixed
  // peer (spoofed unless the source is that peer's address).
  router.on_mesh_datagram(qc::tun::partial_of_address(h ? h->src : self), packet, 5);
  qc::identity::PartialId b2{};
  b2.fill(0xb2);
  router.on_mesh_datagram(b2, packet, 6);
  return 0;
}
