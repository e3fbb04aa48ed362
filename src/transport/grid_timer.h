// GridTimer: one Asio steady_timer for a deadline that is recomputed after every bit of work
// (a ChannelManager's next_deadline(), a connection's expiry). Deadlines are rounded up to a
// 250 us grid and the timer is re-armed only when a deadline is earlier than the wake-up already
// set. Each re-arm to a new earliest deadline costs the loop a timerfd_settime, a trap to the
// hypervisor in a VM: re-arming after every flush made that syscall 8-10 % of the CPU time of a
// channel bulk transfer (pacing moves the inner connection's deadline after every burst). A
// wake-up that comes early (the deadline moved later) just runs the callback, which re-arms.
//
// Threading rule: single-threaded, on the io_context's thread. The callback never runs after
// the GridTimer is destroyed or cancelled, nor for a wake-up that a later arm() replaced, even
// when Asio had already queued that wake-up's handler (timer cancellation cannot take back a
// handler whose timer has expired; a generation number shared with the handlers can). The
// callback may destroy the GridTimer (an Endpoint reaps a closed connection's entry from it).
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "common/clock.h"

namespace qc::transport {

constexpr Duration kTimerGrid = 250 * kMicrosecond;

// Rounds a deadline up to the timer grid (kNever stays kNever).
inline Timestamp round_to_timer_grid(Timestamp t) {
  if (t == kNever || t > kNever - kTimerGrid) return t;
  return (t + kTimerGrid - 1) / kTimerGrid * kTimerGrid;
}

class GridTimer {
 public:
  GridTimer(asio::io_context& io, std::function<void()> on_fire)
      : timer_(io), on_fire_(std::move(on_fire)) {}
  ~GridTimer() { ++*generation_; }
  GridTimer(const GridTimer&) = delete;
  GridTimer& operator=(const GridTimer&) = delete;

  // Makes sure the callback runs at or after `deadline` (on the grid). Does nothing for kNever
  // or when an earlier wake-up is already set: it fires first, and the callback re-arms.
  void arm(Timestamp deadline) {
    if (deadline == kNever) return;
    deadline = round_to_timer_grid(deadline);
    if (armed_ != kNever && armed_ <= deadline) return;
    armed_ = deadline;
    std::uint64_t generation = ++*generation_;
    timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
    timer_.async_wait([this, current = generation_, generation](const std::error_code& ec) {
      // A later arm(), cancel() or the destructor moved the generation on: this wake-up is
      // stale and `this` may be gone.
      if (ec || *current != generation) return;
      armed_ = kNever;
      on_fire_();  // last: it may destroy *this
    });
  }
  void cancel() {
    ++*generation_;
    armed_ = kNever;
    timer_.cancel();
  }
  // When the pending wake-up is due (kNever when none is set).
  Timestamp armed() const { return armed_; }

 private:
  asio::steady_timer timer_;
  std::function<void()> on_fire_;
  Timestamp armed_ = kNever;
  // Shared with the handlers in flight; bumped by every arm() that sets a wake-up, by cancel()
  // and by the destructor. A handler runs the callback only if its arm() is still the latest.
  std::shared_ptr<std::uint64_t> generation_ = std::make_shared<std::uint64_t>(0);
};

}  // namespace qc::transport
