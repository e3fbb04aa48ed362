#include "tun/vpn_router.h"

#include <algorithm>

namespace qc::tun {
namespace {

constexpr std::size_t kMaxPacket = 65535;

}  // namespace

VpnRouter::VpnRouter(Config config, TunDevice& tun, MeshPort& mesh)
    : config_(config),
      tun_(tun),
      mesh_(mesh),
      read_buf_(kMaxPacket),
      tun_icmp_(config_.icmp_per_second, config_.icmp_burst),
      mesh_icmp_(config_.icmp_per_second, config_.icmp_burst) {
  if (config_.filter) filter_.emplace(*config_.filter);
}

std::size_t VpnRouter::pump_tun(Timestamp now) {
  std::size_t n = 0;
  while (n < config_.read_batch) {
    auto r = tun_.read(read_buf_);
    if (!r || *r == 0) break;
    ++n;
    on_tun_packet(now, ByteView(read_buf_.data(), *r));
  }
  return n;
}

void VpnRouter::on_tun_packet(Timestamp now, ByteView packet) {
  ++counters_.tun_read;
  auto h = parse_ipv6(packet);
  if (!h) {
    ++counters_.tun_malformed;
    return;
  }
  auto c = classify(h->dst, config_.self);
  if (c.kind == Destination::kNotCluster) {
    ++counters_.tun_not_cluster;
    return;
  }
  if (c.kind == Destination::kSelf) {
    ++counters_.tun_to_self;
    return;
  }
  if (filter_) filter_->on_outgoing(*h, packet, now);
  // Packets already waiting go first, so a peer's packets keep their order.
  if (auto it = queues_.find(c.peer); it != queues_.end() && !it->second.empty()) {
    enqueue(now, c.peer, packet);
    return;
  }
  if (!try_send(now, c.peer, *h, packet)) {
    enqueue(now, c.peer, packet);
  }
}

bool VpnRouter::try_send(Timestamp now, const identity::PartialId& peer, const Ipv6Header& h,
                         ByteView packet) {
  auto r = mesh_.send_datagram(peer, packet);
  switch (r.status) {
    case MeshPort::Status::kSent:
      ++counters_.mesh_sent;
      return true;
    case MeshPort::Status::kNotReady:
      return false;
    case MeshPort::Status::kTooBig: {
      ++counters_.too_big;
      auto mtu = static_cast<std::uint32_t>(std::min<std::size_t>(r.max_packet, kMaxPacket));
      write_icmp(now, make_packet_too_big(config_.self, h, packet, mtu), /*limited=*/false);
      return true;
    }
    case MeshPort::Status::kUnreachable:
      ++counters_.unreachable;
      answer_unreachable(now, packet, UnreachableCode::kAddressUnreachable);
      return true;
  }
  return true;
}

void VpnRouter::enqueue(Timestamp now, const identity::PartialId& peer, ByteView packet) {
  auto it = queues_.find(peer);
  bool fresh = it == queues_.end();
  if (fresh && queues_.size() >= config_.max_pending_peers) {
    ++counters_.queue_full;
    return;
  }
  if (!fresh && it->second.size() >= config_.queue_packets) {
    ++counters_.queue_full;
    return;
  }
  if (config_.queue_packets == 0) {
    ++counters_.queue_full;
    return;
  }
  if (fresh) it = queues_.emplace(peer, std::deque<Waiting>{}).first;
  it->second.push_back(Waiting{now, Bytes(packet.begin(), packet.end())});
  ++counters_.queued;
  if (fresh) mesh_.want_peer(peer);
}

void VpnRouter::on_peer_ready(const identity::PartialId& peer, Timestamp now) {
  auto it = queues_.find(peer);
  if (it == queues_.end()) return;
  auto& q = it->second;
  while (!q.empty()) {
    const Bytes& p = q.front().packet;
    auto h = parse_ipv6(p);  // parsed once already; cannot fail
    if (h && !try_send(now, peer, *h, p)) break;
    q.pop_front();
  }
  if (q.empty()) queues_.erase(it);
}

void VpnRouter::on_peer_unreachable(const identity::PartialId& peer, Timestamp now,
                                    UnreachableCode code) {
  auto it = queues_.find(peer);
  if (it == queues_.end()) return;
  auto waiting = std::move(it->second);
  queues_.erase(it);
  for (const auto& w : waiting) {
    ++counters_.unreachable;
    answer_unreachable(now, w.packet, code);
  }
}

Timestamp VpnRouter::next_deadline() const {
  Timestamp t = kNever;
  for (const auto& [peer, q] : queues_) {
    if (!q.empty()) t = std::min(t, q.front().since + config_.queue_timeout);
  }
  return t;
}

void VpnRouter::on_timeout(Timestamp now) {
  for (auto it = queues_.begin(); it != queues_.end();) {
    auto& q = it->second;
    while (!q.empty() && q.front().since + config_.queue_timeout <= now) {
      ++counters_.queue_expired;
      answer_unreachable(now, q.front().packet, UnreachableCode::kAddressUnreachable);
      q.pop_front();
    }
    it = q.empty() ? queues_.erase(it) : std::next(it);
  }
}

std::size_t VpnRouter::queued_for(const identity::PartialId& peer) const {
  auto it = queues_.find(peer);
  return it == queues_.end() ? 0 : it->second.size();
}

void VpnRouter::on_mesh_datagram(const identity::PartialId& peer, ByteView packet, Timestamp now) {
  ++counters_.mesh_received;
  auto h = parse_ipv6(packet);
  if (!h) {
    ++counters_.mesh_malformed;
    return;
  }
  if (!source_is_peer(*h, config_.self, peer)) {
    ++counters_.mesh_spoofed;
    return;
  }
  if (h->dst != config_.self) {
    ++counters_.mesh_not_for_us;
    return;
  }
  if (filter_ && !filter_->allow(*h, packet, now)) {
    ++counters_.mesh_filtered;
    // Tell the sender at once (never in answer to an ICMPv6 error: make_* refuses those).
    if (auto icmp = make_destination_unreachable(config_.self, *h, packet,
                                                 UnreachableCode::kAdminProhibited)) {
      if (mesh_icmp_.take(now)) {
        (void)mesh_.send_datagram(peer, *icmp);
      } else {
        ++counters_.icmp_rate_limited;
      }
    }
    return;
  }
  if (tun_.tcp_gso() && counters_.tun_gso_refused == 0) {
    coalescer_.add(packet);
    return;
  }
  write_delivery(packet);
}

void VpnRouter::write_delivery(ByteView packet) {
  if (tun_.write(packet)) {
    ++counters_.tun_written;
  } else {
    ++counters_.tun_write_errors;
  }
}

void VpnRouter::flush_tun() {
  coalescer_.flush([this](ByteView packet, const TcpGso* gso) {
    if (gso == nullptr) {
      write_delivery(packet);
      return;
    }
    if (counters_.tun_gso_refused == 0) {
      auto r = tun_.write_tcp_gso(packet, *gso);
      if (r) {
        counters_.tun_written += gso->segments;
        ++counters_.tun_gso_writes;
        counters_.tun_gso_segments += gso->segments;
        return;
      }
      if (r.error().code != Errc::kUnsupported) {
        counters_.tun_write_errors += gso->segments;
        return;
      }
      counters_.tun_gso_refused = 1;  // this device takes no super-packets after all
    }
    for (const Bytes& s : split_tcp_gso(packet, *gso, true)) write_delivery(s);
  });
}

void VpnRouter::answer_unreachable(Timestamp now, ByteView packet, UnreachableCode code) {
  auto h = parse_ipv6(packet);
  if (!h) return;
  write_icmp(now, make_destination_unreachable(config_.self, *h, packet, code));
}

void VpnRouter::write_icmp(Timestamp now, const std::optional<Bytes>& icmp, bool limited) {
  if (!icmp) {
    ++counters_.icmp_suppressed;
    return;
  }
  if (limited && !tun_icmp_.take(now)) {
    ++counters_.icmp_rate_limited;
    return;
  }
  if (tun_.write(*icmp)) {
    ++counters_.icmp_sent;
  } else {
    ++counters_.tun_write_errors;
  }
}

}  // namespace qc::tun
