// TcpCoalescer: receive-side segment coalescing for VPN mode (userspace GRO).
//
// Writing MTU-sized packets to a TUN device is the expensive half of a VPN's data path: each
// write() runs the receiving TCP stack in the caller's context, once per segment
// (notes/tun-offload.md measured 4.6-5.1 Gbit/s writing segments against 16 with super-packets).
// So the packets that one receive batch delivers are collected here, and consecutive TCP
// segments of one connection are merged into one super-packet that the TUN takes with a
// virtio-net GSO header (LinuxTun::write_gso): the kernel then handles 64 KB per write, as it
// does for what its own GRO merged.
//
// Merge rule (Linux's GRO rule, narrowed): IPv6 with TCP as the first next header (no extension
// headers); a segment with payload and flags ACK or ACK|PSH; the same addresses, ports, traffic
// class, flow label, hop limit, TCP header length, acknowledgment number, window and options
// (timestamps included); a sequence number that continues the previous segment; a payload no
// larger than the first one's, and only after full-sized ones; at most 65535 bytes of IPv6
// payload. PSH ends a merge. Everything else (other protocols, SYN/FIN/RST, pure ACKs) passes
// through unchanged, and a packet that cannot join its connection's merge closes it (a packet
// with extension headers closes every merge between its two addresses), so no connection's
// packets are ever reordered. Packets of different connections may be, as any router may. Only
// the last kSearchGroups packets or merges are searched for a connection's merge, so a batch
// costs O(n); an older merge just stays as it is.
//
// A merged packet's TCP checksum field holds the pseudo-header sum for CHECKSUM_PARTIAL (folded,
// not complemented); the segments' own checksums are not checked here. The channel's AEAD already
// protects them, and the peer could have sent any valid segment with the same content anyway.
//
// Input is untrusted (packets from peers, after VpnRouter's checks): every field is read within
// bounds, and a packet that parse_ipv6() would refuse is passed through, not merged.
// Threading: one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/bytes.h"

namespace qc::tun {

// A TCP super-packet for a TUN with a virtio-net header (VIRTIO_NET_HDR_GSO_TCPV6).
struct TcpGso {
  std::uint16_t segment_size = 0;  // payload bytes per segment (the last may be shorter)
  std::uint16_t header_size = 0;   // IPv6 + TCP header bytes
  std::uint16_t segments = 0;      // how many segments were merged (>= 2)
};

class TcpCoalescer {
 public:
  // Largest IPv6 payload of a merged packet.
  static constexpr std::size_t kMaxPayload = 65535;
  // How many of the latest groups (merges and packets passing alone) a packet is matched against.
  static constexpr std::size_t kSearchGroups = 16;

  // Takes a copy of one whole IPv6 packet.
  void add(ByteView packet);
  bool empty() const { return used_ == 0; }
  // Packets held (add() calls since the last flush).
  std::size_t held() const { return held_; }
  // Hands every packet over in order and empties the coalescer: `gso` is null for a packet
  // that passes through unchanged.
  void flush(const std::function<void(ByteView packet, const TcpGso* gso)>& out);

 private:
  struct Group {
    Bytes data;                  // the first packet's headers, then every payload
    std::size_t header_size = 0;  // 0: not a mergeable TCP segment (passes through)
    std::size_t segment_size = 0;
    std::size_t last_size = 0;    // payload of the last segment
    std::uint32_t next_seq = 0;
    std::uint16_t segments = 0;
    bool open = false;            // more segments may join
  };
  Group& next_group();

  std::vector<Group> groups_;  // groups_[0, used_) are in use; the rest keep their buffers
  std::size_t used_ = 0;
  std::size_t held_ = 0;
};

// The inverse of a merge: the segments a TcpGso packet stands for, each with its IPv6 payload
// length, sequence number and flags set as the kernel's segmentation would (PSH on the last one
// only), and its TCP checksum computed (`checksums`) or 0. VpnRouter writes them one by one when
// a device refuses a super-packet; tests and the fuzz target check merges with it.
std::vector<Bytes> split_tcp_gso(ByteView packet, const TcpGso& gso, bool checksums = false);

}  // namespace qc::tun
