// Exponential backoff with jitter for re-dialling static peers: initial, x2 per failure, capped,
// each delay drawn uniformly from [d/2, d] ("equal jitter"), reset on success.
//
// Threading rule: a plain value; one thread at a time.
#pragma once

#include <cstdint>
#include <random>

#include "common/clock.h"

namespace qc::link {

class Backoff {
 public:
  Backoff(Duration initial, Duration max, std::uint64_t seed = std::random_device{}())
      : initial_(initial), max_(max), current_(initial), rng_(seed) {}

  // The delay before the next attempt; doubles the base for the one after.
  Duration next();
  void reset() { current_ = initial_; }
  Duration base() const { return current_; }

 private:
  Duration initial_, max_, current_;
  std::mt19937_64 rng_;
};

}  // namespace qc::link
