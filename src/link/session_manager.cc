#include "link/session_manager.h"

#include <chrono>

#include "common/log.h"

namespace qc::link {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("link");
  return l;
}
}  // namespace

SessionManager::SessionManager(asio::io_context& io, const identity::Identity& self,
                               SessionManagerOptions options, SessionCallbacks callbacks)
    : io_(io), self_(self), options_(std::move(options)), callbacks_(std::move(callbacks)) {
  if (options_.stateless_reset && !options_.endpoint.reset_secret) {
    // Derived from our private key: the same after a restart, so the restarted node can reset
    // the connections its peers still hold for it.
    std::string material = "qc-link stateless reset secret\n" + self_.key_pem();
    options_.endpoint.reset_secret = identity::sha256(as_bytes(material));
  }
  endpoint_ = std::make_unique<transport::Endpoint>(io, options_.endpoint);
  if (callbacks_.on_receive_batch) endpoint_->set_before_write(callbacks_.on_receive_batch);
}

SessionManager::~SessionManager() {
  *alive_ = false;
  static_peers_.clear();
  sessions_.clear();
  endpoint_.reset();
}

Result<void> SessionManager::start() {
  auto tls = transport::TlsContext::from_identity(self_);
  if (!tls) return Err(tls.error());
  tls_ = *tls;
  QC_TRY(endpoint_->open(options_.listen));
  if (options_.accept_incoming) {
    endpoint_->listen(
        settings(transport::Role::kServer),
        [this](transport::Endpoint::Handle h, transport::Connection& c) { return accept(h, c); });
  }
  logger()->info("node {} accepting neighbour sessions on {}", self_.text_id(),
                 endpoint_->local_address().to_string());
  return Ok();
}

transport::ConnectionSettings SessionManager::settings(transport::Role role) const {
  transport::ConnectionSettings s;
  s.role = role;
  s.tls = tls_;
  s.alpn = kAlpn;
  s.cc = options_.cc;
  s.idle_timeout = options_.idle_timeout;
  s.keep_alive = options_.keep_alive;
  s.handshake_timeout = options_.handshake_timeout;
  s.sni = "peer." + options_.suffix;
  if (options_.tune) options_.tune(s);
  return s;
}

SessionConfig SessionManager::session_config() const {
  SessionConfig c;
  c.local_text_id = self_.text_id();
  c.interface_id = options_.interface_id;
  c.listen_port = options_.accept_incoming ? endpoint_->local_address().port() : 0;
  c.ping_interval = options_.ping_interval;
  c.hello_timeout = options_.hello_timeout;
  return c;
}

Session& SessionManager::create(bool dialled) {
  Session::Id id = next_id_++;
  SessionHost& host = *this;
  auto s = std::make_unique<Session>(host, io_, *endpoint_, session_config(), id, dialled);
  Session& ref = *s;
  sessions_.emplace(id, std::move(s));
  return ref;
}

transport::ConnectionObserver* SessionManager::accept(transport::Endpoint::Handle h,
                                                      transport::Connection& c) {
  if (stopping_) return nullptr;
  Session& s = create(false);
  s.attach(h);
  logger()->debug("session {}: incoming from {}", s.id(), c.path().remote.to_string());
  return &s;
}

Result<Session::Id> SessionManager::dial(const transport::Address& remote,
                                         std::optional<identity::NodeId> expected) {
  if (stopping_ || !tls_) return Err(Errc::kClosed, "session manager not running");
  if (expected) {
    if (Session* up = session_to(*expected)) return up->id();  // already connected
  }
  Session& s = create(true);
  transport::ConnectionSettings st = settings(transport::Role::kClient);
  st.expected_peer = expected;
  if (expected) st.sni = identity::hostname(identity::partial_of(*expected), options_.suffix);
  auto h = endpoint_->dial(remote, st, &s);
  if (!h) {
    sessions_.erase(s.id());
    return Err(h.error());
  }
  s.attach(*h);
  logger()->debug("session {}: dialling {}", s.id(), remote.to_string());
  return s.id();
}

void SessionManager::add_static_peer(const transport::Address& remote,
                                     std::optional<identity::NodeId> expected) {
  auto sp = std::make_unique<StaticPeer>(io_, options_.redial_initial, options_.redial_max);
  sp->address = remote;
  sp->expected = expected;
  StaticPeer& ref = *sp;
  static_peers_.push_back(std::move(sp));
  try_dial(ref);
}

void SessionManager::remove_static_peer(const transport::Address& remote) {
  for (auto it = static_peers_.begin(); it != static_peers_.end();) {
    if ((*it)->address == remote) {
      (*it)->timer.cancel();
      it = static_peers_.erase(it);
    } else {
      ++it;
    }
  }
}

void SessionManager::try_dial(StaticPeer& sp) {
  sp.timer_armed = false;
  if (stopping_) return;
  if (sp.current != 0 && session(sp.current) != nullptr) return;  // in progress or up
  sp.current = 0;
  if (sp.learned && session_to(*sp.learned) != nullptr) return;  // satisfied by another session
  if (sp.expected && session_to(*sp.expected) != nullptr) return;
  auto r = dial(sp.address, sp.expected);
  if (!r) {
    logger()->warn("cannot dial {}: {}", sp.address.to_string(), r.error().to_string());
    schedule_redial(sp);
    return;
  }
  sp.current = *r;
}

void SessionManager::schedule_redial(StaticPeer& sp) {
  if (sp.timer_armed || stopping_) return;
  Duration d = sp.backoff.next();
  sp.timer_armed = true;
  sp.timer.expires_after(std::chrono::nanoseconds(d));
  StaticPeer* p = &sp;
  std::weak_ptr<bool> alive = alive_;
  sp.timer.async_wait([this, p, alive](asio::error_code ec) {
    if (ec || alive.expired()) return;
    try_dial(*p);
  });
  logger()->debug("re-dialling {} in {} ms", sp.address.to_string(), d / kMillisecond);
}

Session* SessionManager::session(Session::Id id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.get();
}

Session* SessionManager::session_to(const identity::NodeId& peer) {
  auto it = up_by_peer_.find(peer);
  return it == up_by_peer_.end() ? nullptr : session(it->second);
}

std::vector<Session*> SessionManager::up_sessions() {
  std::vector<Session*> out;
  for (Session::Id id : reported_up_) {
    if (Session* s = session(id)) out.push_back(s);
  }
  return out;
}

Session& SessionManager::winner(Session& a, Session& b) {
  const identity::NodeId& da = a.dialled() ? self_.node_id() : a.peer_id();
  const identity::NodeId& db = b.dialled() ? self_.node_id() : b.peer_id();
  if (da != db) return da < db ? a : b;
  return a.id() > b.id() ? a : b;  // same dialler: the newer one (the peer restarted)
}

void SessionManager::on_session_verified(Session& s) {
  for (auto& sp : static_peers_) {
    if (sp->current == s.id()) sp->learned = s.peer_id();
  }
}

void SessionManager::on_session_up(Session& s) {
  const identity::NodeId& peer = s.peer_id();
  auto it = up_by_peer_.find(peer);
  if (it != up_by_peer_.end() && it->second != s.id()) {
    if (Session* other = session(it->second); other != nullptr && other->is_up()) {
      Session& keep = winner(*other, s);
      Session& lose = &keep == &s ? *other : s;
      const identity::NodeId& dialler = keep.dialled() ? self_.node_id() : keep.peer_id();
      std::string reason = "duplicate session with " + s.peer_text_id() +
                           ": keeping the one dialled by " + identity::text_id(dialler);
      logger()->info("{} (closing session {}, keeping {})", reason, lose.id(), keep.id());
      lose.close(CloseCode::kDuplicateSession, reason);
      if (&lose == &s) return;
    }
  }
  up_by_peer_[peer] = s.id();
  reported_up_.insert(s.id());
  for (auto& sp : static_peers_) {
    if (sp->current == s.id() || (sp->learned && *sp->learned == peer)) {
      sp->learned = peer;
      sp->backoff.reset();
    }
  }
  logger()->info("session up with {} at {} ({}, session {})", s.peer_text_id(),
                 s.remote_address().to_string(), s.dialled() ? "dialled" : "accepted", s.id());
  if (callbacks_.on_up) callbacks_.on_up(s);
}

void SessionManager::on_session_closed(Session& s, const transport::CloseInfo& info) {
  bool was_up = reported_up_.erase(s.id()) > 0;
  if (auto it = up_by_peer_.find(s.peer_id()); it != up_by_peer_.end() && it->second == s.id()) {
    up_by_peer_.erase(it);
  }
  if (was_up) {
    logger()->info("session down with {} (session {}): {}", s.peer_text_id(), s.id(),
                   info.to_string());
    if (callbacks_.on_down) callbacks_.on_down(s, info);
  } else if (s.dialled()) {
    logger()->info("session {} to {} ended before it was up: {}", s.id(),
                   s.remote_address().to_string(), info.to_string());
  } else {
    logger()->debug("incoming session {} from {} ended before it was up: {}", s.id(),
                    s.remote_address().to_string(), info.to_string());
  }
  // A stalled connection (see ConnectionObserver::on_congestion_stalled) is replaced at once by
  // the side that dialled it, whoever noticed the stall.
  if (!stopping_ && was_up && s.dialled() && info.application &&
      info.error_code == static_cast<std::uint64_t>(CloseCode::kStalled)) {
    transport::Address remote = s.remote_address();
    identity::NodeId peer = s.peer_id();
    logger()->info("re-dialling {} at {} after a stalled session", s.peer_text_id(),
                   remote.to_string());
    if (auto r = dial(remote, peer); !r)
      logger()->info("re-dial of {} failed: {}", remote.to_string(), r.error().message);
  }
  if (!stopping_) {
    for (auto& sp : static_peers_) {
      if (sp->current == s.id()) {
        sp->current = 0;
        schedule_redial(*sp);
      } else if (was_up && sp->current == 0 && sp->learned && *sp->learned == s.peer_id()) {
        schedule_redial(*sp);
      }
    }
  }
  destroy_later(s.id());
}

void SessionManager::destroy_later(Session::Id id) {
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive, id] {
    if (alive.expired()) return;
    sessions_.erase(id);
  });
}

void SessionManager::on_session_control(Session& s, const ControlMessage& msg) {
  if (reported_up_.count(s.id()) && callbacks_.on_control) callbacks_.on_control(s, msg);
}

void SessionManager::on_session_datagram(Session& s, ByteView data) {
  if (reported_up_.count(s.id()) && callbacks_.on_datagram) callbacks_.on_datagram(s, data);
}

void SessionManager::on_session_datagrams_writable(Session& s) {
  if (reported_up_.count(s.id()) && callbacks_.on_datagrams_writable) {
    callbacks_.on_datagrams_writable(s);
  }
}

void SessionManager::on_session_stream_data(Session& s, std::int64_t id, ByteView data, bool fin) {
  if (reported_up_.count(s.id()) && callbacks_.on_stream_data) {
    callbacks_.on_stream_data(s, id, data, fin);
  }
}

void SessionManager::on_session_stream_writable(Session& s, std::int64_t id) {
  if (reported_up_.count(s.id()) && callbacks_.on_stream_writable) {
    callbacks_.on_stream_writable(s, id);
  }
}

void SessionManager::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& sp : static_peers_) sp->timer.cancel();
  endpoint_->stop_listening();
  endpoint_->close_all(static_cast<std::uint64_t>(CloseCode::kShutdown), "node shutting down");
}

}  // namespace qc::link
