#include "tun/tun_device.h"

#include <algorithm>

namespace qc::tun {

Result<std::size_t> MemoryTun::read(std::span<std::uint8_t> buf) {
  if (inbound_.empty()) return std::size_t{0};
  Bytes p = std::move(inbound_.front());
  inbound_.pop_front();
  std::size_t n = std::min(p.size(), buf.size());
  std::copy_n(p.begin(), n, buf.begin());
  return n;
}

Result<void> MemoryTun::write(ByteView packet) {
  if (fail_writes_) return Err(Errc::kIo, "write to " + name_ + ": device is down (test)");
  written_.emplace_back(packet.begin(), packet.end());
  return Ok();
}

}  // namespace qc::tun
