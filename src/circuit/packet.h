// Circuit packets: what rides in one neighbour-session DATAGRAM (DESIGN.md layer 6).
//
// Wire format:
//   label   QUIC varint, 1 byte (1..63) or 2 bytes (64..16383), minimal encoding only; the
//           circuit's label on the session the packet travels (swapped at every hop)
//   type    1 byte: 0 data, 1 stats, 2 wake
//   body    data: the channel's QUIC packet, opaque to relays (never empty)
//           stats: flags(1: bit0 reply) | seq varint | count(1) | count x hop record
//                  hop record = hop(1) | rtt_us varint | queue varint | drops varint | room varint
//           wake: empty (the peer with the larger node id asks the other to open the channel)
// A relay appends one hop record to a stats packet that is not a reply; the far endpoint turns
// it into a reply and sends it back, so the originator learns each hop's RTT, queue, drops and
// room (the smallest room sizes the channel's packets).
//
// Decoding is strict: a label of 0, a non-minimal or 4/8-byte varint, an unknown type, unknown
// flag bits, more than kMaxHops records, or trailing bytes are errors (kParse). Never asserts
// on input. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::circuit {

using SessionId = std::uint64_t;
// 1..kMaxLabel; same range as routing::Label.
using Label = std::uint16_t;
constexpr Label kMaxLabel = 16383;
constexpr std::size_t kMaxHops = 32;
// Largest header (2-byte label + type): what a circuit costs its payload at most.
constexpr std::size_t kMaxHeader = 3;

enum class PacketType : std::uint8_t { kData = 0, kStats = 1, kWake = 2 };

struct PacketView {
  Label label = 0;
  std::size_t label_len = 0;  // 1 or 2
  PacketType type = PacketType::kData;
  ByteView body;  // points into the decoded buffer
};

struct HopStats {
  std::uint8_t hop = 0;      // 1 = first relay after the originator
  std::uint32_t rtt_us = 0;  // the relay's session RTT toward the next hop
  std::uint32_t queue = 0;   // datagrams queued toward the next hop
  std::uint32_t drops = 0;   // datagrams the relay dropped toward the next hop (total)
  std::uint32_t room = 0;    // circuit payload room on the next hop (session room - header)
  friend bool operator==(const HopStats&, const HopStats&) = default;
};

struct StatsBody {
  bool reply = false;
  std::uint64_t seq = 0;  // chosen by the originator (< 2^62)
  std::vector<HopStats> hops;
  friend bool operator==(const StatsBody&, const StatsBody&) = default;
};

// Bytes the label takes (1 or 2); 0 for an invalid label.
std::size_t label_size(Label label);
// Header bytes (label + type) for `label`.
inline std::size_t header_size(Label label) {
  return label_size(label) + 1;
}

Result<PacketView> decode(ByteView packet);
// Writes label and type at `out` (at least kMaxHeader bytes); returns the bytes written, 0 for
// an invalid label.
std::size_t encode_header(Label label, PacketType type, std::uint8_t* out);
// A whole packet: header + body.
Result<Bytes> encode(Label label, PacketType type, ByteView body);

Result<StatsBody> decode_stats(ByteView body);
Bytes encode_stats(const StatsBody& stats);

// QUIC varint helpers (RFC 9000 section 16); decode is strict about minimal encoding.
std::size_t varint_size(std::uint64_t v);
std::size_t put_varint(std::uint64_t v, std::uint8_t* out);
// Returns the bytes consumed, 0 on error (truncated, non-minimal or >= 2^62).
std::size_t get_varint(ByteView in, std::uint64_t& v);

}  // namespace qc::circuit
