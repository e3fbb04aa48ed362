#include "transport/endpoint.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <chrono>
#include <cstring>

#include "common/log.h"
#include "transport/grid_timer.h"

namespace qc::transport {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("transport");
  return l;
}
Timestamp now_ns() {
  return SystemClock::instance().now();
}
}  // namespace

Endpoint::Endpoint(asio::io_context& io, EndpointOptions options)
    : io_(io), options_(options), sender_(socket_) {}

Endpoint::~Endpoint() {
  *alive_ = false;
  for (auto& [h, e] : conns_) e->conn->set_observer(nullptr);
  conns_.clear();
  if (asio_socket_) {
    asio::error_code ec;
    asio_socket_->cancel(ec);
    (void)asio_socket_->release(ec);  // the fd is closed by socket_
  }
}

Result<void> Endpoint::open(const Address& local) {
  QC_TRY(socket_.open(local, options_.socket));
  asio_socket_ = std::make_unique<asio::ip::udp::socket>(io_);
  asio::error_code ec;
  asio_socket_->assign(local.family() == AF_INET6 ? asio::ip::udp::v6() : asio::ip::udp::v4(),
                       socket_.fd(), ec);
  if (ec) return Err(Errc::kIo, "asio assign: " + ec.message());
  logger()->debug("endpoint bound to {} (GSO {}, GRO {})", socket_.local_address().to_string(),
                  options_.socket.gso, options_.socket.gro);
  start_read();
  return Ok();
}

void Endpoint::listen(ConnectionSettings settings, AcceptHandler on_accept) {
  settings.role = Role::kServer;
  settings.cid_length = options_.cid_length;
  if (!settings.reset_secret) settings.reset_secret = options_.reset_secret;
  server_settings_ = std::move(settings);
  on_accept_ = std::move(on_accept);
  listening_ = true;
}

void Endpoint::stop_listening() {
  listening_ = false;
}

Result<Endpoint::Handle> Endpoint::dial(const Address& remote, ConnectionSettings settings,
                                        ConnectionObserver* observer) {
  if (!asio_socket_) return Err(Errc::kClosed, "endpoint not open");
  Address to = remote;
  if (to.family() == AF_INET && local_address().family() == AF_INET6) {
    // A dual-stack socket reaches IPv4 peers through v4-mapped addresses (::ffff:a.b.c.d).
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(remote.sockaddr_ptr());
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    v6.sin6_port = v4->sin_port;
    v6.sin6_addr.s6_addr[10] = 0xff;
    v6.sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&v6.sin6_addr.s6_addr[12], &v4->sin_addr, 4);
    to = Address(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
  }
  if (to.family() != local_address().family()) {
    return Err(Errc::kInvalidArgument, "cannot reach " + remote.to_string() + " from " +
                                           local_address().to_string() + " (address family)");
  }
  settings.role = Role::kClient;
  settings.cid_length = options_.cid_length;
  if (!settings.reset_secret) settings.reset_secret = options_.reset_secret;
  auto c = Connection::connect(settings, Path{local_address(), to}, observer, now_ns());
  if (!c) return Err(c.error());
  Entry& e = add(std::move(*c));
  wake(e.handle);
  return e.handle;
}

Connection* Endpoint::connection(Handle h) {
  Entry* e = find(h);
  return e == nullptr || e->reap ? nullptr : e->conn.get();
}

Endpoint::Entry* Endpoint::find(Handle h) {
  auto it = conns_.find(h);
  return it == conns_.end() ? nullptr : it->second.get();
}

Endpoint::Entry& Endpoint::add(std::unique_ptr<Connection> conn) {
  Handle h = next_handle_++;
  // The entry owns the timer and the endpoint owns the entry: the callback may use `this`.
  auto entry = std::make_unique<Entry>(io_, h, [this, h] { on_timer(h); });
  entry->conn = std::move(conn);
  Entry& e = *entry;
  conns_.emplace(e.handle, std::move(entry));
  e.conn->set_cid_registry(this, e.handle);
  for (const Bytes& cid : e.conn->local_cids()) on_cid_issued(e.handle, cid);
  return e;
}

void Endpoint::on_cid_issued(std::uint64_t tag, ByteView cid) {
  std::string key(reinterpret_cast<const char*>(cid.data()), cid.size());
  by_cid_[key] = tag;
  if (Entry* e = find(tag)) e->cids.push_back(std::move(key));
}

void Endpoint::on_cid_retired(std::uint64_t tag, ByteView cid) {
  std::string key(reinterpret_cast<const char*>(cid.data()), cid.size());
  auto it = by_cid_.find(key);
  if (it != by_cid_.end() && it->second == tag) by_cid_.erase(it);
}

void Endpoint::start_read() {
  std::weak_ptr<bool> alive = alive_;
  asio_socket_->async_wait(asio::socket_base::wait_read, [this, alive](asio::error_code ec) {
    if (ec || alive.expired()) return;
    on_readable();
  });
}

void Endpoint::on_readable() {
  Timestamp now = now_ns();
  reading_ = true;
  auto on_one = [&](const Address& from, ByteView data, std::uint8_t ecn) {
    on_datagram(from, data, ecn, now);
    // Answer (ACK) every few datagrams, not once per batch: see EndpointOptions::answer_every.
    if (++unanswered_ >= options_.answer_every) {
      flush_pending();
      now = now_ns();
    }
  };
  socket_.receive(on_one, options_.read_budget);
  // The hook runs once per batch, not at every answer_every: a channel answering every 32
  // datagrams sent more inner ACKs (each a whole DATAGRAM packet through every hop), which
  // cost the relay more than the coalescing saved.
  if (before_write_) before_write_();
  flush_pending();
  reading_ = false;
  if (asio_socket_) start_read();
}

void Endpoint::on_datagram(const Address& from, ByteView data, std::uint8_t ecn, Timestamp now) {
  ngtcp2_version_cid vc{};
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data.data(), data.size(), options_.cid_length);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(from, data, vc);
    return;
  }
  if (rv != 0) {
    ++counters_.dropped_unknown_cid;  // garbage, or a version we do not speak
    return;
  }
  std::string key(reinterpret_cast<const char*>(vc.dcid), vc.dcidlen);
  Path path{local_address(), from};
  Entry* e = nullptr;
  auto it = by_cid_.find(key);
  if (it != by_cid_.end()) e = find(it->second);
  if (e == nullptr && (data[0] & 0x80) == 0) {  // short header: a connection we do not know
    // A stateless reset carries a random destination id: offer it to the connections with
    // this peer address (ngtcp2 recognises the token; anything else fails to decrypt and is
    // dropped). Otherwise the peer lost our connection state: tell it with a reset.
    std::vector<Handle> same_peer;
    for (auto& [h, entry] : conns_) {
      if (!entry->reap && entry->conn->path().remote == from) same_peer.push_back(h);
    }
    for (Handle h : same_peer) {
      Entry* candidate = find(h);
      if (candidate == nullptr || candidate->reap) continue;
      (void)candidate->conn->read_packet(path, data, ecn, now);
      mark_pending(*candidate);
    }
    if (same_peer.empty()) {
      ++counters_.dropped_unknown_cid;
      send_stateless_reset(from, data, ByteView(vc.dcid, vc.dcidlen), now);
    }
    return;
  }
  if (e == nullptr) {
    if (!listening_) {
      ++counters_.dropped_unknown_cid;
      return;
    }
    e = accept(path, data, now);
    if (e == nullptr) return;
  }
  if (e->reap) return;
  (void)e->conn->read_packet(path, data, ecn, now);
  mark_pending(*e);
}

Endpoint::Entry* Endpoint::accept(const Path& path, ByteView data, Timestamp now) {
  if (!Connection::is_client_initial(data)) {
    ++counters_.dropped_unknown_cid;
    return nullptr;
  }
  if (conns_.size() >= options_.max_connections) {
    ++counters_.dropped_refused;
    return nullptr;
  }
  auto c = Connection::accept(server_settings_, path, data, nullptr, now);
  if (!c) {
    logger()->debug("cannot accept from {}: {}", path.remote.to_string(), c.error().to_string());
    return nullptr;
  }
  Entry& e = add(std::move(*c));
  ConnectionObserver* observer = on_accept_ ? on_accept_(e.handle, *e.conn) : nullptr;
  if (observer == nullptr) {
    ++counters_.dropped_refused;
    e.reap = true;
    reap_needed_ = true;
    reap();
    return nullptr;
  }
  e.conn->set_observer(observer);
  ++counters_.accepted;
  return &e;
}

void Endpoint::send_version_negotiation(const Address& to, ByteView packet,
                                        const ngtcp2_version_cid& vc) {
  // Only for a would-be Initial (at least 1200 bytes), so the answer never amplifies.
  if (!listening_ || packet.size() < 1200) return;
  const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  std::uint8_t unused = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  std::uint8_t out[256];
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      out, sizeof out, unused, vc.scid, vc.scidlen, vc.dcid, vc.dcidlen, versions, 1);
  if (n <= 0) return;
  socket_.send(to, ByteView(out, static_cast<std::size_t>(n)), static_cast<std::size_t>(n), 0);
  ++counters_.version_negotiations_sent;
}

void Endpoint::send_stateless_reset(const Address& to, ByteView packet, ByteView dcid,
                                    Timestamp now) {
  // RFC 9000 10.3: the reset is shorter than the packet that caused it (so two endpoints
  // cannot loop), and at least 22 bytes (5 random + 16 token + 1), which a keep-alive PING
  // packet (about 27 bytes with an 8-byte id) still allows.
  constexpr std::size_t kMinTrigger =
      1 + 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;
  constexpr std::size_t kMaxReset = 64;
  if (!options_.reset_secret || packet.size() < kMinTrigger || dcid.size() != options_.cid_length) {
    return;
  }
  if (now - reset_window_start_ > kSecond) {
    reset_window_start_ = now;
    resets_in_window_ = 0;
  }
  if (++resets_in_window_ > options_.max_resets_per_second) return;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, dcid.data(), dcid.size());
  std::uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, options_.reset_secret->data(),
                                                   options_.reset_secret->size(), &cid) != 0) {
    return;
  }
  std::size_t len = std::min(packet.size() - 1, kMaxReset);
  std::uint8_t rand[kMaxReset];
  std::size_t randlen = len - 1 - NGTCP2_STATELESS_RESET_TOKENLEN;
  gnutls_rnd(GNUTLS_RND_NONCE, rand, randlen);
  std::uint8_t out[kMaxReset];
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(out, len, token, rand, randlen);
  if (n <= 0) return;
  socket_.send(to, ByteView(out, static_cast<std::size_t>(n)), static_cast<std::size_t>(n), 0);
  ++counters_.stateless_resets_sent;
  logger()->debug("stateless reset to {} for an unknown connection", to.to_string());
}

void Endpoint::mark_pending(Entry& e) {
  if (e.pending_write) return;
  e.pending_write = true;
  pending_.push_back(e.handle);
}

void Endpoint::wake(Handle h) {
  Entry* e = find(h);
  if (e == nullptr) return;
  mark_pending(*e);
  // Inside on_readable() the pending connections are written at the end of the batch anyway.
  if (flush_posted_ || reading_) return;
  flush_posted_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    flush_posted_ = false;
    flush_pending();
  });
}

void Endpoint::flush_pending() {
  unanswered_ = 0;
  Timestamp now = now_ns();
  std::vector<Handle> handles;
  handles.swap(pending_);
  for (Handle h : handles) {
    Entry* e = find(h);
    if (e == nullptr) continue;
    e->pending_write = false;
    write(*e, now);
  }
  reap();
}

void Endpoint::write(Entry& e, Timestamp now) {
  if (e.reap) return;
  if (!e.conn->is_closed()) {
    e.conn->write_packets(now, sender_);
    sender_.flush();
  }
  if (e.conn->is_closed()) {
    e.reap = true;
    reap_needed_ = true;
    return;
  }
  arm(e);
}

void Endpoint::arm(Entry& e) {
  Timestamp exp = e.conn->expiry();
  if (exp == kNever) {
    if (e.timer.armed() != kNever) e.timer.cancel();
    return;
  }
  // Deadlines are rounded up to the grid. Each new earliest deadline costs the loop a
  // timerfd_settime, a trap to the hypervisor in a VM; the pacing waits between bursts (a few
  // microseconds each) made that 14 % of the CPU time of a bulk transfer. Deadlines on one grid
  // point share a wake-up; incoming ACKs still trigger writes as soon as they arrive. An
  // earlier wake-up already set stays: on_timer() re-checks the expiry when it fires.
  e.timer.arm(exp);
}

void Endpoint::on_timer(Handle h) {
  Entry* e = find(h);
  if (e == nullptr || e->reap) return;
  Timestamp now = now_ns();
  if (e->conn->expiry() <= now) e->conn->handle_expiry(now);
  write(*e, now);
  reap();
}

void Endpoint::close(Handle h, std::uint64_t app_error_code, std::string_view reason) {
  Entry* e = find(h);
  if (e == nullptr || e->reap) return;
  e->conn->close(app_error_code, reason);
  wake(h);
}

void Endpoint::close_all(std::uint64_t app_error_code, std::string_view reason) {
  Timestamp now = now_ns();
  for (auto& [h, e] : conns_) {
    if (e->reap) continue;
    e->conn->close(app_error_code, reason);
    write(*e, now);
  }
  reap();
}

void Endpoint::abandon(Handle h) {
  Entry* e = find(h);
  if (e == nullptr) return;
  e->conn->set_observer(nullptr);
  e->reap = true;
  reap_needed_ = true;
  wake(h);  // reaped at the next loop turn, outside any callback
}

void Endpoint::reap() {
  if (!reap_needed_) return;
  reap_needed_ = false;
  for (auto it = conns_.begin(); it != conns_.end();) {
    Entry& e = *it->second;
    if (!e.reap) {
      ++it;
      continue;
    }
    for (const std::string& key : e.cids) {
      auto c = by_cid_.find(key);
      if (c != by_cid_.end() && c->second == e.handle) by_cid_.erase(c);
    }
    it = conns_.erase(it);
  }
}

}  // namespace qc::transport
