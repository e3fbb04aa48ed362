#include "link/backoff.h"

#include <algorithm>

namespace qc::link {

Duration Backoff::next() {
  Duration d = current_;
  current_ = std::min(max_, current_ * 2);
  if (d < 2) return d;
  std::uniform_int_distribution<Duration> dist(d / 2, d);
  return dist(rng_);
}

}  // namespace qc::link
