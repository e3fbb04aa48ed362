#include "tun/tun_device.h"

#include <algorithm>

namespace qc::tun {

Result<void> TunDevice::write_tcp_gso(ByteView, const TcpGso&) {
  return Err(Errc::kUnsupported, "this TUN device takes no GSO super-packets");
}

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

Result<void> MemoryTun::write_tcp_gso(ByteView packet, const TcpGso& gso) {
  if (!tcp_gso_ || refuse_gso_) return TunDevice::write_tcp_gso(packet, gso);
  if (fail_writes_) return Err(Errc::kIo, "write to " + name_ + ": device is down (test)");
  ++gso_writes_;
  for (Bytes& s : split_tcp_gso(packet, gso)) written_.push_back(std::move(s));
  return Ok();
}

}  // namespace qc::tun
