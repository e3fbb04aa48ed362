// Basic routing vocabulary: ids, sessions, labels (DESIGN.md "Identity and addressing").
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"

namespace qc::routing {

constexpr std::size_t kNodeIdSize = 32;
constexpr std::size_t kPartialIdSize = 10;

// Same layout as qc::identity::NodeId / PartialId (std::array aliases), so values pass freely.
using NodeId = std::array<std::uint8_t, kNodeIdSize>;
using PartialId = std::array<std::uint8_t, kPartialIdSize>;

// One neighbour session = (peer, local interface). Chosen by the embedder, unique per node.
using SessionId = std::uint64_t;
// Local interface id (a stable uint32 hash, chosen by the embedder).
using InterfaceId = std::uint32_t;
// Per-link circuit label: 1..kMaxLabel (0 is invalid). Fits a 2-byte QUIC varint.
using Label = std::uint16_t;
constexpr Label kMaxLabel = 16383;
// A circuit's id as reported in events (random, chosen by the node that starts the setup).
using CircuitId = std::uint64_t;

inline PartialId partial_of(const NodeId& id) {
  PartialId p{};
  std::copy_n(id.begin(), kPartialIdSize, p.begin());
  return p;
}

// A node id prefix of 10..32 bytes names a peer.
struct PeerPrefix {
  std::vector<std::uint8_t> bytes;

  static PeerPrefix of(const NodeId& id) { return PeerPrefix{{id.begin(), id.end()}}; }
  static PeerPrefix of(const PartialId& p) { return PeerPrefix{{p.begin(), p.end()}}; }
  bool valid() const { return bytes.size() >= kPartialIdSize && bytes.size() <= kNodeIdSize; }
  bool matches(const NodeId& id) const {
    return valid() && std::equal(bytes.begin(), bytes.end(), id.begin());
  }
  PartialId partial() const {
    PartialId p{};
    std::copy_n(bytes.begin(), std::min(bytes.size(), kPartialIdSize), p.begin());
    return p;
  }
  friend bool operator==(const PeerPrefix&, const PeerPrefix&) = default;
};

// Loads a fixed-size id from wire bytes; false when the size is wrong.
template <std::size_t N>
bool load_id(const std::string& wire, std::array<std::uint8_t, N>& out) {
  if (wire.size() != N) return false;
  std::copy_n(reinterpret_cast<const std::uint8_t*>(wire.data()), N, out.begin());
  return true;
}
template <std::size_t N>
std::string id_bytes(const std::array<std::uint8_t, N>& id) {
  return std::string(reinterpret_cast<const char*>(id.data()), N);
}

struct PartialIdHash {
  std::size_t operator()(const PartialId& p) const {
    std::uint64_t h = 0;
    for (int i = 0; i < 8; ++i) h = (h << 8) | p[static_cast<std::size_t>(i)];
    return static_cast<std::size_t>(h);
  }
};

}  // namespace qc::routing
