#include "tun/tcp_coalescer.h"

#include <cstring>

#include "tun/inet_checksum.h"
#include "tun/ipv6_packet.h"

namespace qc::tun {
namespace {

constexpr std::uint8_t kNextHeaderTcp = 6;
constexpr std::size_t kTcpMinHeader = 20;
constexpr std::uint8_t kFlagAck = 0x10;
constexpr std::uint8_t kFlagPsh = 0x08;
// Linux's GRO merges at most 64 segments into one packet; so do we.
constexpr std::uint16_t kMaxSegments = 64;

// Offsets in the packet.
constexpr std::size_t kPayloadLength = 4;        // IPv6 payload length
constexpr std::size_t kAddresses = 8;            // source then destination, 32 bytes
constexpr std::size_t kTcp = kIpv6HeaderSize;     // the TCP header follows the IPv6 header
constexpr std::size_t kSeq = kTcp + 4;
constexpr std::size_t kDataOffset = kTcp + 12;
constexpr std::size_t kFlags = kTcp + 13;
constexpr std::size_t kChecksum = kTcp + 16;

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
void put16(std::uint8_t* p, std::size_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

// An IPv6 packet whose first next header is TCP, with room for the ports.
bool is_tcp(ByteView p) {
  return p.size() >= kTcp + 4 && (p[0] >> 4) == 6 && p[6] == kNextHeaderTcp;
}

// An IPv6 packet whose first next header is an extension header (or anything but TCP, UDP and
// ICMPv6): it may belong to any connection between its two addresses.
bool may_hide_a_connection(ByteView p) {
  return p.size() >= kIpv6HeaderSize && (p[0] >> 4) == 6 && p[6] != kNextHeaderTcp && p[6] != 17 &&
         p[6] != 58;
}

// The header size (IPv6 + TCP) of a segment that may be merged, else 0: a well-formed packet
// (parse_ipv6's length rule), payload after the TCP header, flags ACK or ACK|PSH only, and no
// reserved bits.
std::size_t mergeable_header(ByteView p) {
  if (!is_tcp(p) || p.size() < kTcp + kTcpMinHeader) return 0;
  if (get16(p.data() + kPayloadLength) != p.size() - kIpv6HeaderSize) return 0;
  std::size_t tcp_header = static_cast<std::size_t>(p[kDataOffset] >> 4) * 4;
  if ((p[kDataOffset] & 0x0f) != 0 || tcp_header < kTcpMinHeader) return 0;
  if (kTcp + tcp_header >= p.size()) return 0;  // no payload
  if ((p[kFlags] & ~kFlagPsh) != kFlagAck) return 0;
  return kTcp + tcp_header;
}

// Same addresses and ports.
bool same_flow(const std::uint8_t* a, const std::uint8_t* b) {
  return std::memcmp(a + kAddresses, b + kAddresses, 32) == 0 && std::memcmp(a + kTcp, b + kTcp, 4) == 0;
}

// The pseudo-header sum of a TCP packet whose TCP part is `l4_length` bytes.
std::uint32_t tcp_pseudo_header_sum(const std::uint8_t* packet, std::size_t l4_length) {
  return pseudo_header_sum(ByteView(packet + kAddresses, 16), ByteView(packet + kAddresses + 16, 16),
                           l4_length, kNextHeaderTcp);
}

}  // namespace

TcpCoalescer::Group& TcpCoalescer::next_group() {
  if (used_ == groups_.size()) groups_.emplace_back();
  Group& g = groups_[used_++];
  g.data.clear();
  return g;
}

void TcpCoalescer::add(ByteView p) {
  ++held_;
  std::size_t oldest = used_ > kSearchGroups ? used_ - kSearchGroups : 0;
  if (may_hide_a_connection(p)) {
    for (std::size_t i = oldest; i < used_; ++i) {
      Group& g = groups_[i];
      if (g.open && std::memcmp(g.data.data() + kAddresses, p.data() + kAddresses, 32) == 0)
        g.open = false;
    }
  }
  // The open merge of this packet's connection, if any: at most one is open per connection
  // among the groups searched (a packet that closes one is searched for over the same groups
  // and more recent ones, so no later segment can join a merge from before it).
  Group* open = nullptr;
  if (is_tcp(p)) {
    for (std::size_t i = used_; i-- > oldest;) {
      Group& g = groups_[i];
      if (g.open && same_flow(g.data.data(), p.data())) {
        open = &g;
        break;
      }
    }
  }
  std::size_t header = mergeable_header(p);
  if (open != nullptr && header != 0) {
    const std::uint8_t* first = open->data.data();
    std::size_t payload = p.size() - header;
    bool joins = header == open->header_size && open->last_size == open->segment_size &&
                 payload <= open->segment_size && open->segments < kMaxSegments &&
                 open->data.size() - kIpv6HeaderSize + payload <= kMaxPayload &&
                 get32(p.data() + kSeq) == open->next_seq &&
                 // version, traffic class, flow label; next header and hop limit
                 std::memcmp(first, p.data(), 4) == 0 && std::memcmp(first + 6, p.data() + 6, 2) == 0 &&
                 // acknowledgment number and data offset; window and urgent pointer; options
                 std::memcmp(first + kTcp + 8, p.data() + kTcp + 8, 5) == 0 &&
                 std::memcmp(first + kTcp + 14, p.data() + kTcp + 14, 2) == 0 &&
                 std::memcmp(first + kTcp + 18, p.data() + kTcp + 18, header - kTcp - 18) == 0;
    if (joins) {
      open->data.insert(open->data.end(), p.begin() + static_cast<std::ptrdiff_t>(header), p.end());
      open->next_seq += static_cast<std::uint32_t>(payload);
      open->last_size = payload;
      ++open->segments;
      if (p[kFlags] & kFlagPsh) {
        open->data[kFlags] |= kFlagPsh;
        open->open = false;
      }
      return;
    }
  }
  if (open != nullptr) open->open = false;  // nothing of this connection may join it any more
  Group& g = next_group();
  g.data.assign(p.begin(), p.end());
  g.header_size = header;
  g.segments = 1;
  g.open = header != 0 && (p[kFlags] & kFlagPsh) == 0;
  if (header != 0) {
    g.segment_size = g.last_size = p.size() - header;
    g.next_seq = get32(p.data() + kSeq) + static_cast<std::uint32_t>(g.segment_size);
  }
}

void TcpCoalescer::flush(const std::function<void(ByteView, const TcpGso*)>& out) {
  for (std::size_t i = 0; i < used_; ++i) {
    Group& g = groups_[i];
    if (g.segments < 2) {
      out(g.data, nullptr);
      continue;
    }
    std::size_t l4 = g.data.size() - kIpv6HeaderSize;
    put16(g.data.data() + kPayloadLength, l4);
    put16(g.data.data() + kChecksum, tcp_pseudo_header_sum(g.data.data(), l4));
    TcpGso gso{static_cast<std::uint16_t>(g.segment_size), static_cast<std::uint16_t>(g.header_size),
               g.segments};
    out(g.data, &gso);
  }
  used_ = 0;
  held_ = 0;
}

std::vector<Bytes> split_tcp_gso(ByteView packet, const TcpGso& gso, bool checksums) {
  std::vector<Bytes> out;
  std::size_t header = gso.header_size;
  if (gso.segment_size == 0 || header < kTcp + kTcpMinHeader || header >= packet.size()) return out;
  std::uint32_t seq = get32(packet.data() + kSeq);
  bool psh = (packet[kFlags] & kFlagPsh) != 0;
  for (std::size_t at = header; at < packet.size(); at += gso.segment_size) {
    std::size_t n = std::min<std::size_t>(gso.segment_size, packet.size() - at);
    Bytes s(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(header));
    s.insert(s.end(), packet.begin() + static_cast<std::ptrdiff_t>(at),
             packet.begin() + static_cast<std::ptrdiff_t>(at + n));
    put16(s.data() + kPayloadLength, s.size() - kIpv6HeaderSize);
    put32(s.data() + kSeq, seq + static_cast<std::uint32_t>(at - header));
    bool last = at + n == packet.size();
    s[kFlags] = static_cast<std::uint8_t>((s[kFlags] & ~kFlagPsh) | (last && psh ? kFlagPsh : 0));
    put16(s.data() + kChecksum, 0);
    if (checksums) {
      ByteView tcp = ByteView(s).subspan(kTcp);
      put16(s.data() + kChecksum,
            checksum_of(checksum_add(tcp_pseudo_header_sum(s.data(), tcp.size()), tcp)));
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace qc::tun
