// TokenBucket: `rate` tokens per second, at most `burst` stored; starts full. Time is passed in
// (nanosecond Timestamps); a clock that goes backwards refills nothing.
#pragma once

#include "common/clock.h"

namespace qc {

class TokenBucket {
 public:
  TokenBucket(double rate, double burst) : rate_(rate), burst_(burst), tokens_(burst) {}

  // Takes one token; false when none is left (the caller drops and counts).
  bool take(Timestamp now) {
    if (started_ && now > last_) {
      tokens_ += static_cast<double>(now - last_) * rate_ / static_cast<double>(kSecond);
      if (tokens_ > burst_) tokens_ = burst_;
    }
    if (!started_ || now > last_) last_ = now;
    started_ = true;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Timestamp last_ = 0;
  bool started_ = false;
};

}  // namespace qc
