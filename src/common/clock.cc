#include "common/clock.h"

#include <time.h>

namespace qc {

namespace {
std::uint64_t read(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * kSecond + static_cast<std::uint64_t>(ts.tv_nsec);
}
}  // namespace

Timestamp SystemClock::now() const { return read(CLOCK_MONOTONIC); }
std::uint64_t SystemClock::unix_now() const { return read(CLOCK_REALTIME); }
const SystemClock& SystemClock::instance() {
  static const SystemClock c;
  return c;
}

}  // namespace qc
