// GridTimer against a real io_context. Deadlines lie in the past, so nothing waits: the first
// turn of the loop finds every timer expired and queues all their handlers at once, earliest
// deadline first. A handler of an earlier timer then acts while the GridTimer's handler is
// already queued behind it, out of reach of asio's cancellation.
#include "transport/grid_timer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

namespace qc::transport {
namespace {

std::chrono::steady_clock::time_point at(Timestamp t) {
  return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t));
}

// A deadline already past, on the grid.
Timestamp past() {
  return round_to_timer_grid(SystemClock::instance().now() - 10 * kMillisecond);
}

TEST(GridTimerTest, FiresOnceAndTheCallbackCanReArm) {
  asio::io_context io;
  int fired = 0;
  Timestamp due = past();
  std::unique_ptr<GridTimer> timer;
  timer = std::make_unique<GridTimer>(io, [&] {
    EXPECT_EQ(timer->armed(), kNever);
    if (++fired < 3) timer->arm(due);
  });
  timer->arm(due);
  EXPECT_EQ(timer->armed(), due);
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(fired, 3);
  EXPECT_EQ(timer->armed(), kNever);
}

TEST(GridTimerTest, TheCallbackMayDestroyTheTimer) {
  asio::io_context io;
  int fired = 0;
  std::unique_ptr<GridTimer> timer;
  timer = std::make_unique<GridTimer>(io, [&] {
    ++fired;
    timer.reset();  // ASan: nothing touches the timer afterwards
  });
  timer->arm(past());
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(timer, nullptr);
}

TEST(GridTimerTest, ALaterDeadlineKeepsTheEarlierWakeUp) {
  asio::io_context io;
  GridTimer timer(io, [] {});
  Timestamp due = past();
  timer.arm(due);
  timer.arm(due + kSecond);
  timer.arm(kNever);
  EXPECT_EQ(timer.armed(), due);
}

TEST(GridTimerTest, AnEarlierDeadlineReplacesALaterOne) {
  asio::io_context io;
  int fired = 0;
  GridTimer timer(io, [&] { ++fired; });
  timer.arm(SystemClock::instance().now() + 3600 * kSecond);
  Timestamp due = past();
  timer.arm(due);
  EXPECT_EQ(timer.armed(), due);
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());  // the hour-long wait is gone
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(timer.armed(), kNever);
}

TEST(GridTimerTest, AnEarlierDeadlineReplacesAWakeUpAlreadyQueued) {
  asio::io_context io;
  int fired = 0;
  GridTimer timer(io, [&] { ++fired; });
  Timestamp due = past();
  timer.arm(due);
  Timestamp earlier = due - 5 * kMillisecond;
  asio::steady_timer before(io, at(due - kMillisecond));
  before.async_wait([&](const std::error_code&) {
    timer.arm(earlier);
    // Runs after the superseded handler: until the new wake-up fires, it is still set.
    asio::post(io, [&] { EXPECT_EQ(timer.armed(), fired == 0 ? earlier : kNever); });
  });
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(timer.armed(), kNever);
}

TEST(GridTimerTest, CancelTakesBackAWakeUpAlreadyQueued) {
  asio::io_context io;
  int fired = 0;
  GridTimer timer(io, [&] { ++fired; });
  Timestamp due = past();
  timer.arm(due);
  asio::steady_timer before(io, at(due - kMillisecond));
  before.async_wait([&](const std::error_code&) { timer.cancel(); });
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(timer.armed(), kNever);
}

TEST(GridTimerTest, DestroyedWithAWakeUpQueued) {
  asio::io_context io;
  int fired = 0;
  auto timer = std::make_unique<GridTimer>(io, [&] { ++fired; });
  Timestamp due = past();
  timer->arm(due);
  asio::steady_timer before(io, at(due - kMillisecond));
  before.async_wait([&](const std::error_code&) { timer.reset(); });  // ASan: no use after free
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(io.stopped());
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace qc::transport
