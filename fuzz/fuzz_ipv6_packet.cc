// libFuzzer target for the VPN's packet input (src/tun): arbitrary bytes as a packet read from
// the TUN and as a datagram received from a peer, through parse_ipv6, classify, the ICMPv6 error
// builders and a VpnRouter over the in-memory TUN and a mesh whose answer byte 0 picks. Must never
// crash, hang or leak, and every ICMPv6 error it builds must parse and carry a valid checksum.
// The same packet and copies of it whose TCP sequence numbers continue it (so that they can merge)
// go through a TcpCoalescer: every segment must come out exactly once, and every merged packet
// must parse and split back into its segments.
//
// Input layout: byte 0 = the mesh's answer (low 2 bits) and the path size (the rest); the rest is
// the packet. Bit 7 of byte 0 turns the expose rules (InboundFilter) on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include <vector>

#include "tun/icmpv6.h"
#include "tun/ipv6_packet.h"
#include "tun/tcp_coalescer.h"
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

// The packet, then copies that continue its TCP sequence (when it looks like TCP), the fourth one
// byte shorter (a short last segment), the sixth with a gap.
std::vector<qc::Bytes> derived_packets(qc::ByteView packet) {
  std::vector<qc::Bytes> out{qc::Bytes(packet.begin(), packet.end())};
  if (packet.size() < 61) return out;
  std::size_t header = 40 + static_cast<std::size_t>(packet[52] >> 4) * 4;
  if (header >= packet.size()) return out;
  for (int i = 1; i < 7; ++i) {
    qc::Bytes p = out.back();
    std::uint32_t seq = std::uint32_t{p[44]} << 24 | std::uint32_t{p[45]} << 16 |
                        std::uint32_t{p[46]} << 8 | p[47];
    seq += static_cast<std::uint32_t>(p.size() - header) + (i == 6 ? 1 : 0);
    if (i == 4 && p.size() > header + 1) {
      p.pop_back();
      std::size_t len = p.size() - 40;
      p[4] = static_cast<std::uint8_t>(len >> 8);
      p[5] = static_cast<std::uint8_t>(len);
    }
    for (int k = 0; k < 4; ++k) p[44 + k] = static_cast<std::uint8_t>(seq >> (24 - 8 * k));
    out.push_back(std::move(p));
  }
  return out;
}

// The derived packets share addresses and ports, so they come out in the order they went in: a
// packet that passed alone unchanged, a merged one as its segments (checksum field aside).
void check_coalescer(const std::vector<qc::Bytes>& in) {
  qc::tun::TcpCoalescer c;
  for (const auto& p : in) c.add(p);
  std::size_t next = 0;
  auto same_but_checksum = [](qc::Bytes a, qc::Bytes b) {
    if (a.size() != b.size() || a.size() < 58) return false;
    a[56] = a[57] = b[56] = b[57] = 0;
    return a == b;
  };
  c.flush([&](qc::ByteView p, const qc::tun::TcpGso* gso) {
    if (gso == nullptr) {
      if (next >= in.size() || qc::Bytes(p.begin(), p.end()) != in[next]) std::abort();
      ++next;
      return;
    }
    auto parts = qc::tun::split_tcp_gso(p, *gso);
    if (!qc::tun::parse_ipv6(p) || p.size() - 40 > qc::tun::TcpCoalescer::kMaxPayload ||
        gso->segments < 2 || parts.size() != gso->segments) {
      std::abort();
    }
    for (const auto& s : parts) {
      if (next >= in.size() || !same_but_checksum(s, in[next])) std::abort();
      ++next;
    }
  });
  if (next != in.size() || !c.empty()) std::abort();
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

  auto derived = derived_packets(packet);
  check_coalescer(derived);
  // And through a router on a TUN that takes merged segments.
  qc::tun::MemoryTun gso_tun("qc0", 1280, true);
  qc::tun::VpnRouter gso_router(config, gso_tun, mesh);
  for (const auto& p : derived)
    gso_router.on_mesh_datagram(qc::tun::partial_of_address(h ? h->src : self), p, 7);
  gso_router.flush_tun();
  const auto& k = gso_router.counters();
  if (k.mesh_received != derived.size() ||
      k.tun_written != k.mesh_received - k.mesh_malformed - k.mesh_spoofed - k.mesh_not_for_us -
                           k.mesh_filtered) {
    std::abort();
  }
  return 0;
}
