#include "discovery/fake_lan.h"

#include <algorithm>

namespace qc::discovery {

Result<void> FakeLan::Port::open(const Interface& itf) {
  if (std::find(fail_open.begin(), fail_open.end(), itf.name) != fail_open.end()) {
    return Err(Errc::kIo, "cannot open " + itf.name + " (test)");
  }
  open_[itf.index] = itf;
  ++opens;
  return Ok();
}

Result<void> FakeLan::Port::send(const Interface& itf, ByteView beacon) {
  if (!is_open(itf.index)) return Err(Errc::kClosed, itf.name + " is not open");
  if (std::find(fail_send.begin(), fail_send.end(), itf.name) != fail_send.end()) {
    return Err(Errc::kIo, "beacon on " + itf.name + ": Cannot assign requested address");
  }
  bool attached = false;
  for (const auto& from : lan_.members_) {
    if (from.port != this || from.ifindex != itf.index) continue;
    attached = true;
    for (const auto& to : lan_.members_) {
      if (to.segment != from.segment) continue;
      lan_.queue_.push_back(
          {to.port, to.ifindex, from.source, Bytes(beacon.begin(), beacon.end())});
    }
  }
  if (!attached) return Err(Errc::kIo, itf.name + " is attached to no segment");
  ++sends;
  return Ok();
}

void FakeLan::Port::inject(ByteView data, const asio::ip::udp::endpoint& from,
                           std::uint32_t ifindex) {
  if (is_open(ifindex) && receiver_) receiver_(data, from, ifindex);
}

void FakeLan::attach(const std::string& segment, Port& port, std::uint32_t ifindex,
                     const asio::ip::address& source) {
  members_.push_back({segment, &port, ifindex, asio::ip::udp::endpoint(source, 7421)});
}

std::size_t FakeLan::deliver() {
  std::size_t n = 0;
  while (!queue_.empty()) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    if (p.to->is_open(p.ifindex) && p.to->receiver_) {
      p.to->receiver_(p.data, p.from, p.ifindex);
      ++n;
    }
  }
  return n;
}

}  // namespace qc::discovery
