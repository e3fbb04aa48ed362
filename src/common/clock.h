// Time as a value. Layers below the daemon never read a clock themselves: they are handed `now`
// (nanoseconds, as ngtcp2 does) or a Clock to ask. Tests use ManualClock and advance it.
#pragma once

#include <cstdint>

namespace qc {

// Nanoseconds on a monotonic clock whose epoch is arbitrary (per process).
using Timestamp = std::uint64_t;
// A duration in nanoseconds.
using Duration = std::uint64_t;

constexpr Duration kNanosecond = 1;
constexpr Duration kMicrosecond = 1000;
constexpr Duration kMillisecond = 1000 * kMicrosecond;
constexpr Duration kSecond = 1000 * kMillisecond;
constexpr Timestamp kNever = UINT64_MAX;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in ns.
  virtual Timestamp now() const = 0;
  // Wall-clock time as nanoseconds since the Unix epoch (for timestamps that cross nodes, such
  // as probe expiry, and certificate validity).
  virtual std::uint64_t unix_now() const = 0;
};

// The real clocks (CLOCK_MONOTONIC, CLOCK_REALTIME).
class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
  std::uint64_t unix_now() const override;
  static const SystemClock& instance();
};

// A clock that moves only when told to. Not thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = kSecond, std::uint64_t unix_start = 1'700'000'000 * kSecond)
      : now_(start), unix_offset_(unix_start - start) {}
  Timestamp now() const override { return now_; }
  std::uint64_t unix_now() const override { return now_ + unix_offset_; }
  void advance(Duration d) { now_ += d; }
  void set(Timestamp t) { now_ = t; }

 private:
  Timestamp now_;
  std::uint64_t unix_offset_;
};

}  // namespace qc
