// Probe ids seen recently: how many copies of each were accepted, and the hashes of the copies
// processed, so a repeated copy (a replay) or a copy over the limit is dropped before any
// signature is checked. Bounded; an entry lives until its probe's expiry.
#pragma once

#include <array>
#include <cstdint>
#include <unordered_map>

#include "common/clock.h"

namespace qc::routing {

struct SeenEntry {
  Timestamp expiry = 0;                   // local time after which the entry is dropped
  std::array<std::uint64_t, 4> copies{};  // hashes of copies processed (first 4)
  std::uint8_t ncopies = 0;
  std::uint8_t accepted = 0;  // copies verified and forwarded (or answered, at the destination)

  bool has_copy(std::uint64_t h) const {
    for (std::uint8_t i = 0; i < ncopies; ++i)
      if (copies[i] == h) return true;
    return false;
  }
  void add_copy(std::uint64_t h) {
    if (ncopies < copies.size()) copies[ncopies++] = h;
  }
};

class SeenTable {
 public:
  explicit SeenTable(std::size_t capacity) : capacity_(capacity) {}
  SeenEntry* find(std::uint64_t probe_id) {
    auto it = map_.find(probe_id);
    return it == map_.end() ? nullptr : &it->second;
  }
  // Adds an entry; nullptr when the table is full (the caller drops the probe and counts).
  SeenEntry* insert(std::uint64_t probe_id, Timestamp expiry) {
    if (map_.size() >= capacity_) return nullptr;
    SeenEntry& e = map_[probe_id];
    e.expiry = expiry;
    return &e;
  }
  // Removes the entry if it has expired at `now`; returns its expiry otherwise (kNever if gone).
  Timestamp expire(std::uint64_t probe_id, Timestamp now) {
    auto it = map_.find(probe_id);
    if (it == map_.end()) return kNever;
    if (it->second.expiry <= now) {
      map_.erase(it);
      return kNever;
    }
    return it->second.expiry;
  }
  std::size_t size() const { return map_.size(); }
  // Approximate bytes per entry including the hash-map node.
  static constexpr std::size_t kBytesPerEntry =
      sizeof(SeenEntry) + sizeof(std::uint64_t) + 2 * sizeof(void*) + sizeof(std::size_t);

 private:
  std::size_t capacity_;
  std::unordered_map<std::uint64_t, SeenEntry> map_;
};

}  // namespace qc::routing
