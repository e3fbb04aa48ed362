// SipHash-2-4: a keyed 64-bit hash for table keys built from peer-controlled bytes (probe ids,
// signatures), so a peer cannot aim collisions at our tables. Not a MAC for the wire.
#pragma once

#include <array>
#include <cstdint>

#include "common/bytes.h"

namespace qc::routing {

using SipKey = std::array<std::uint64_t, 2>;

std::uint64_t siphash(const SipKey& key, ByteView data);

// Incremental form: feed pieces, then finish. Same result as siphash() over the concatenation.
class SipHasher {
 public:
  explicit SipHasher(const SipKey& key);
  void update(ByteView data);
  void update_u64(std::uint64_t v);
  std::uint64_t finish();

 private:
  void compress(std::uint64_t m);
  std::uint64_t v0_, v1_, v2_, v3_;
  std::uint64_t tail_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace qc::routing
