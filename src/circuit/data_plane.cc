#include "circuit/data_plane.h"

#include <algorithm>

namespace qc::circuit {

const char* send_status_name(SendStatus s) {
  switch (s) {
    case SendStatus::kSent:
      return "sent";
    case SendStatus::kBlocked:
      return "blocked";
    case SendStatus::kTooBig:
      return "too big";
    case SendStatus::kClosed:
      return "closed";
  }
  return "?";
}

DataPlane::DataPlane(CircuitIo& io, const DataPlaneConfig& config) : io_(io), config_(config) {
  scratch_.resize(65536);
}

void DataPlane::add_local(SessionId session, Label label) {
  local_.insert(Key{session, label});
}

void DataPlane::remove_local(SessionId session, Label label) {
  local_.erase(Key{session, label});
  touched_.erase(Key{session, label});
}

bool DataPlane::is_local(SessionId session, Label label) const {
  return local_.count(Key{session, label}) != 0;
}

void DataPlane::maybe_touch(SessionId session, Label label, Timestamp now) {
  auto [it, inserted] = touched_.try_emplace(Key{session, label}, now);
  if (!inserted) {
    if (now - it->second < config_.touch_interval) return;
    it->second = now;
  }
  io_.touch(session, label, now);
  // Forget circuits not seen for a while, so the map tracks only live circuits.
  if (now - last_prune_ > 16 * config_.touch_interval) {
    last_prune_ = now;
    std::erase_if(touched_,
                  [&](const auto& kv) { return now - kv.second > 8 * config_.touch_interval; });
  }
}

void DataPlane::on_datagram(SessionId session, ByteView packet, Timestamp now) {
  auto pv = decode(packet);
  if (!pv) {
    ++stats_.malformed;
    return;
  }
  if (is_local(session, pv->label)) {
    ++stats_.delivered;
    maybe_touch(session, pv->label, now);
    if (receiver_ != nullptr)
      receiver_->on_circuit_packet(session, pv->label, pv->type, pv->body, now);
    return;
  }
  std::optional<Hop> next = io_.forward(session, pv->label);
  if (!next || label_size(next->label) == 0) {
    ++stats_.unknown_label;
    return;
  }
  maybe_touch(session, pv->label, now);
  std::size_t hdr = encode_header(next->label, pv->type, scratch_.data());
  std::size_t len = hdr;
  if (pv->type == PacketType::kStats) {
    Bytes body;
    add_hop_stats(next->session, next->label, *pv, body);
    std::copy(body.begin(), body.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(hdr));
    len += body.size();
  } else {
    // Data bodies are opaque: copied behind the new label, never parsed.
    std::copy(pv->body.begin(), pv->body.end(),
              scratch_.begin() + static_cast<std::ptrdiff_t>(hdr));
    len += pv->body.size();
  }
  SendStatus st = send_or_queue(next->session, ByteView(scratch_.data(), len));
  if (st == SendStatus::kSent) {
    ++stats_.forwarded;
    stats_.forwarded_bytes += len;
  }
}

void DataPlane::add_hop_stats(SessionId next, Label next_label, PacketView in, Bytes& out) {
  auto body = decode_stats(in.body);
  if (!body) {
    ++stats_.malformed;  // forwarded unchanged: the endpoint decides
    out.assign(in.body.begin(), in.body.end());
    return;
  }
  if (!body->reply && body->hops.size() < kMaxHops) {
    HopStats h;
    h.hop = static_cast<std::uint8_t>(body->hops.size() + 1);
    h.rtt_us =
        static_cast<std::uint32_t>(std::min<Duration>(io_.session_rtt(next) / 1000, UINT32_MAX));
    auto it = queues_.find(next);
    h.queue = it == queues_.end() ? 0 : static_cast<std::uint32_t>(it->second.packets.size());
    h.drops = it == queues_.end() ? 0 : static_cast<std::uint32_t>(it->second.drops);
    std::size_t room = io_.datagram_room(next);
    std::size_t hdr = header_size(next_label);
    h.room = static_cast<std::uint32_t>(room > hdr ? room - hdr : 0);
    body->hops.push_back(h);
    ++stats_.stats_inserted;
  }
  out = encode_stats(*body);
}

SendStatus DataPlane::send_or_queue(SessionId session, ByteView packet) {
  Queue* q = nullptr;
  if (auto it = queues_.find(session); it != queues_.end() && !it->second.packets.empty()) {
    q = &it->second;
  } else {
    SendStatus st = io_.send_datagram(session, packet);
    switch (st) {
      case SendStatus::kSent:
        return st;
      case SendStatus::kTooBig:
        ++stats_.too_big;
        ++queues_[session].drops;
        return st;
      case SendStatus::kClosed:
        ++stats_.closed_drops;
        return st;
      case SendStatus::kBlocked:
        q = &queues_[session];
        break;
    }
  }
  if (q->packets.size() >= config_.queue_limit) {
    ++stats_.queue_drops;
    ++q->drops;
    q->notify = true;
    return SendStatus::kBlocked;
  }
  q->packets.emplace_back(packet.begin(), packet.end());
  ++stats_.queued;
  if (q->packets.size() >= config_.queue_limit / 2) q->notify = true;
  return SendStatus::kSent;
}

void DataPlane::on_datagrams_writable(SessionId session, Timestamp now) {
  auto it = queues_.find(session);
  if (it == queues_.end()) return;
  Queue& q = it->second;
  while (!q.packets.empty()) {
    SendStatus st = io_.send_datagram(session, q.packets.front());
    if (st == SendStatus::kBlocked) break;
    if (st == SendStatus::kTooBig) {
      ++stats_.too_big;
      ++q.drops;
    } else if (st == SendStatus::kClosed) {
      ++stats_.closed_drops;
    } else {
      ++stats_.forwarded;
      stats_.forwarded_bytes += q.packets.front().size();
    }
    q.packets.pop_front();
  }
  if (q.packets.size() < config_.queue_limit / 2 && q.notify) {
    q.notify = false;
    if (receiver_ != nullptr) receiver_->on_session_writable(session, now);
  }
}

void DataPlane::on_session_closed(SessionId session) {
  auto it = queues_.find(session);
  if (it == queues_.end()) return;
  stats_.closed_drops += it->second.packets.size();
  queues_.erase(it);
}

SendStatus DataPlane::send(SessionId session, Label label, PacketType type, ByteView body) {
  std::size_t hdr = encode_header(label, type, scratch_.data());
  if (hdr == 0 || hdr + body.size() > scratch_.size()) return SendStatus::kTooBig;
  std::copy(body.begin(), body.end(), scratch_.begin() + static_cast<std::ptrdiff_t>(hdr));
  std::size_t len = hdr + body.size();
  if (len > io_.datagram_room(session)) {
    if (io_.datagram_room(session) == 0) return SendStatus::kClosed;
    ++stats_.too_big;
    return SendStatus::kTooBig;
  }
  SendStatus st = send_or_queue(session, ByteView(scratch_.data(), len));
  if (st == SendStatus::kSent) ++stats_.sent_local;
  if (st == SendStatus::kBlocked) queues_[session].notify = true;
  return st;
}

std::size_t DataPlane::room(SessionId session, Label label) {
  std::size_t room = io_.datagram_room(session);
  std::size_t hdr = header_size(label);
  return room > hdr ? room - hdr : 0;
}

bool DataPlane::can_send(SessionId session) const {
  auto it = queues_.find(session);
  return it == queues_.end() || it->second.packets.size() < config_.queue_limit / 2;
}

std::size_t DataPlane::queue_length(SessionId session) const {
  auto it = queues_.find(session);
  return it == queues_.end() ? 0 : it->second.packets.size();
}

std::uint64_t DataPlane::queue_drops(SessionId session) const {
  auto it = queues_.find(session);
  return it == queues_.end() ? 0 : it->second.drops;
}

}  // namespace qc::circuit
