// GridTimer: one Asio steady_timer for a deadline that is recomputed after every bit of work
// (a ChannelManager's next_deadline(), a connection's expiry). Deadlines are rounded up to a
// 250 us grid and the timer is re-armed only when a deadline is earlier than the wake-up already
// set. Each re-arm to a new earliest deadline costs the loop a timerfd_settime, a trap to the
// hypervisor in a VM: re-arming after every flush made that syscall 8-10 % of the CPU time of a
// channel bulk transfer (pacing moves the inner connection's deadline after every burst). A
// wake-up that comes early (the deadline moved later) just runs the callback, which re-arms.
//
// Threading rule: single-threaded, on the io_context's thread. The callback never runs after
// the GridTimer is destroyed or cancelled.
#pragma once

#include <asio.hpp>

#include <chrono>
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
  ~GridTimer() { *alive_ = false; }
  GridTimer(const GridTimer&) = delete;
  GridTimer& operator=(const GridTimer&) = delete;

  // Makes sure the callback runs at or after `deadline` (on the grid). Does nothing for kNever
  // or when an earlier wake-up is already set: it fires first, and the callback re-arms.
  void arm(Timestamp deadline) {
    if (deadline == kNever) return;
    deadline = round_to_timer_grid(deadline);
    if (armed_ != kNever && armed_ <= deadline) return;
    armed_ = deadline;
    timer_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline)));
    timer_.async_wait([this, alive = alive_](const std::error_code& ec) {
      if (ec || !*alive) return;  // replaced by an earlier deadline, or cancelled
      armed_ = kNever;
      on_fire_();
    });
  }
  void cancel() {
    armed_ = kNever;
    timer_.cancel();
  }
  // When the pending wake-up is due (kNever when none is set).
  Timestamp armed() const { return armed_; }

 private:
  asio::steady_timer timer_;
  std::function<void()> on_fire_;
  Timestamp armed_ = kNever;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::transport
