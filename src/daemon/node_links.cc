// Node: links (one SessionManager per local interface), discovery, static peers.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/node_internal.h"

namespace qc::daemon {

namespace {

// How long a node whose dial would lose the duplicate-session tie-break leaves the dial to the
// peer (on_beacon). It covers the peer hearing our next startup beacon (about 1 s apart) and a
// link whose IPv6 address is still in duplicate address detection (about 2 s).
constexpr Duration kDialGrace = 2500 * kMillisecond;
// Beacons of one peer at one address lead to one dial per this interval at most. A peer that
// restarts sends its startup beacons about a second apart, so one of them gets through.
constexpr Duration kDialInterval = 2 * kSecond;

// A socket bound to an IPv6 address is dual-stack: it reaches IPv4 peers as ::ffff:a.b.c.d.
transport::Address for_socket(const transport::Address& local, const asio::ip::udp::endpoint& ep) {
  asio::ip::udp::endpoint e = ep;
  if (local.family() == AF_INET6 && e.address().is_v4())
    e.address(asio::ip::make_address_v6(asio::ip::v4_mapped, e.address().to_v4()));
  return transport::Address(reinterpret_cast<const sockaddr*>(e.data()),
                            static_cast<socklen_t>(e.size()));
}

// The local address the kernel would send from to reach `remote` (a connected UDP socket that
// sends nothing).
std::optional<asio::ip::address> source_for(const transport::Address& remote) {
  int fd = ::socket(remote.family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<asio::ip::address> out;
  if (::connect(fd, remote.sockaddr_ptr(), remote.size()) == 0) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        out = asio::ip::address_v4(ntohl(a->sin_addr.s_addr));
      } else if (ss.ss_family == AF_INET6) {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &a->sin6_addr, b.size());
        out = asio::ip::address_v6(b, a->sin6_scope_id);
      }
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

std::optional<transport::Address> interface_bind_address(const std::string& listen,
                                                         std::uint16_t port,
                                                         const discovery::Interface& itf) {
  std::string host = listen;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::error_code ec;
  asio::ip::address ip = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  asio::ip::udp::endpoint ep;
  if (ip.is_unspecified()) {
    ep = asio::ip::udp::endpoint(ip, port);  // "::" (both families) or "0.0.0.0" (IPv4 only)
  } else if (ip.is_v4() && itf.ipv4 && *itf.ipv4 == ip.to_v4()) {
    ep = asio::ip::udp::endpoint(ip, port);
  } else if (ip.is_v6() && itf.link_local && itf.link_local->to_bytes() == ip.to_v6().to_bytes()) {
    ep = asio::ip::udp::endpoint(*itf.link_local, port);  // with the interface's scope id
  } else {
    return std::nullopt;
  }
  return transport::Address(reinterpret_cast<const sockaddr*>(ep.data()),
                            static_cast<socklen_t>(ep.size()));
}

Result<Node::Link*> Node::open_link(std::uint32_t interface_id, const std::string& device,
                                    const transport::Address& listen) {
  if (next_link_slot_ >= kMaxLinkSlots)
    return Err(Errc::kLimit, "every link number is used up (restart the node)");
  auto link = std::make_unique<Link>();
  link->slot = next_link_slot_++;
  link->interface_id = interface_id;
  link->name = device;
  Link* lp = link.get();

  link::SessionManagerOptions opts;
  opts.listen = listen;
  opts.interface_id = interface_id;
  opts.suffix = config_.identity.suffix;
  opts.idle_timeout = seconds(config_.session.idle_timeout);
  opts.keep_alive = seconds(config_.session.keepalive);
  opts.redial_initial = seconds(config_.session.redial_min);
  opts.redial_max = seconds(config_.session.redial_max);
  opts.endpoint.socket.device = device;
  opts.endpoint.socket.reuse_address = true;
  // Links share the port: a packet of one link's connection may reach another link's socket
  // (e.g. after a route change), which must not answer it with a stateless reset. Only the
  // listen link, which gets the packets of interfaces without a link of their own, sends them.
  opts.stateless_reset = device.empty();

  link::SessionCallbacks cb;
  cb.on_up = [this, lp](link::Session& s) { on_link_up(*lp, s); };
  cb.on_down = [this, lp](link::Session& s, const transport::CloseInfo& why) {
    on_link_down(*lp, s, why);
  };
  cb.on_control = [this, lp](link::Session& s, const link::ControlMessage& m) {
    if (!m.has_routing() || !router_) return;
    router_->on_message(make_route_session(lp->slot, s.id()), m.routing(), now());
    pump();
  };
  cb.on_datagram = [this, lp](link::Session& s, ByteView d) {
    if (!dataplane_) return;
    dataplane_->dp.on_datagram(make_route_session(lp->slot, s.id()), d, now());
    if (dataplane_->pump) dataplane_->pump->on_session_datagram();
  };
  // The channels answer a receive batch before the sessions write (channel::ChannelPump).
  cb.on_receive_batch = [this] {
    if (dataplane_ && dataplane_->pump) dataplane_->pump->on_receive_batch();
  };
  cb.on_datagrams_writable = [this, lp](link::Session& s) {
    if (!dataplane_) return;
    dataplane_->dp.on_datagrams_writable(make_route_session(lp->slot, s.id()), now());
    dataplane_->schedule_flush();
  };
  link->mgr = std::make_unique<link::SessionManager>(io_, *identity_, opts, std::move(cb));
  if (auto r = link->mgr->start(); !r) {
    return Err(r.error().code,
               "cannot listen on " + listen.to_string() + (device.empty() ? "" : " on " + device) +
                   ": " + r.error().message + " (is another node running? change listen.port)");
  }
  links_.push_back(std::move(link));
  return lp;
}

// Opens a link for every interface discovery uses (when the kernel lets us bind a socket to
// one: SO_BINDTODEVICE needs CAP_NET_RAW), and closes the links of interfaces that went away.
// Without per-interface links every session runs on the listen-address link.
void Node::sync_interfaces() {
  if (stopped_ || !discovery_) return;
  if (!interface_timer_) interface_timer_ = std::make_unique<asio::steady_timer>(io_);
  auto itfs = discovery_->interfaces();
  seen_interfaces_.clear();
  for (const auto& itf : itfs) seen_interfaces_.insert(itf.id);
  bool try_links = per_interface_links_ || links_.size() == 1;
  if (try_links) {
    for (const auto& itf : itfs) {
      if (interface_link(itf.id)) continue;
      auto addr = interface_bind_address(config_.listen.address, config_.listen.port, itf);
      if (!addr) continue;  // listen.address is not on this interface: the listen link serves it
      auto r = open_link(itf.id, itf.name, *addr);
      if (!r) {
        if (!per_interface_links_) {
          node_log()->info("per-interface sessions off ({}); all sessions use {}",
                           r.error().message, links_[0]->mgr->local_address().to_string());
          break;
        }
        node_log()->warn("interface {}: {}", itf.name, r.error().message);
        continue;
      }
      per_interface_links_ = true;
      node_log()->info("interface {} (id {:08x}) up: sessions on {}", itf.name, itf.id,
                       addr->to_string());
    }
    // Close the links of interfaces that went away. Their slots are not reused (route-session
    // ids embed them), so the vector is compacted; the links themselves die on a later turn,
    // outside any callback of theirs that may be running.
    bool retired = false;
    for (auto& l : links_) {
      if (!l || l->name.empty()) continue;
      bool present = false;
      for (const auto& itf : itfs) present = present || itf.id == l->interface_id;
      if (!present) {
        node_log()->info("interface {} gone: closing its sessions", l->name);
        l->mgr->shutdown();
        retired_links_.push_back(std::move(l));
        retired = true;
      }
    }
    std::erase_if(links_, [](const std::unique_ptr<Link>& l) { return !l; });
    if (retired) {
      asio::post(io_, [this, alive = alive_] {
        if (*alive) retired_links_.clear();
      });
    }
  }
  interface_timer_->expires_after(std::chrono::seconds(10));
  interface_timer_->async_wait([this, alive = alive_](const std::error_code& ec) {
    if (!ec && *alive) sync_interfaces();
  });
}

Node::Link* Node::interface_link(std::uint32_t interface_id) {
  for (auto& l : links_)
    if (l && l->interface_id == interface_id && !l->name.empty()) return l.get();
  return nullptr;
}

void Node::on_beacon(const discovery::BeaconHeard& b, bool deferred) {
  if (stopped_) return;
  Link* link = links_[0].get();
  if (per_interface_links_) {
    Link* own = interface_link(b.interface_id);
    if (!own && !seen_interfaces_.count(b.interface_id)) {
      sync_interfaces();  // an interface that appeared since the last look
      own = interface_link(b.interface_id);
    }
    // No link of its own (it could not be opened, or listen.address is elsewhere): the listen
    // link dials, as it does for every interface without per-interface links.
    if (own) link = own;
  }
  // An IPv4-only link (listen.address 0.0.0.0 or an IPv4 address) cannot dial an IPv6 sender;
  // the same peer's IPv4 beacon, if any, gets it.
  if (link->mgr->local_address().family() == AF_INET && b.quic_endpoint.address().is_v6()) return;
  // Already a session with this node on this link?
  for (link::Session* s : link->mgr->up_sessions())
    if (identity::partial_of(s->peer_id()) == b.partial) return;
  // Two nodes usually hear each other's beacons within a second of each other and would both
  // dial; the link layer then keeps the session dialled by the smaller node id and closes the
  // other, and any circuit already built on it goes down with it. So a node whose dial would
  // lose leaves the dial to the peer for kDialGrace, and dials itself only if no session came up
  // by then (the peer may not hear our beacons).
  if (!deferred && b.partial < identity_->partial_id()) {
    std::string key = identity::text_id(b.partial) + "@" + std::to_string(b.interface_id);
    if (deferred_dials_.count(key) || deferred_dials_.size() >= 1024) return;
    auto timer = std::make_unique<asio::steady_timer>(io_);
    timer->expires_after(std::chrono::nanoseconds(kDialGrace));
    timer->async_wait([this, alive = alive_, key, b](const std::error_code& ec) {
      if (ec || !*alive || stopped_) return;
      deferred_dials_.erase(key);
      on_beacon(b, true);
    });
    deferred_dials_.emplace(std::move(key), std::move(timer));
    return;
  }
  transport::Address addr = for_socket(link->mgr->local_address(), b.quic_endpoint);
  std::string key = identity::text_id(b.partial) + "@" + addr.to_string();
  Timestamp t = now();
  // At most one dial per peer and address every kDialInterval (a deferred dial, due now, is
  // bounded by its grace period instead).
  auto it = link->last_dial.find(key);
  if (!deferred && it != link->last_dial.end() && t - it->second < kDialInterval) return;
  if (link->last_dial.size() >= 1024)  // beacons are unauthenticated: keep this bounded
    std::erase_if(link->last_dial, [t](const auto& kv) { return t - kv.second >= kDialInterval; });
  if (link->last_dial.size() >= 1024) return;
  link->last_dial[key] = t;
  node_log()->info("beacon from {} at {} on {}: dialling", identity::text_id(b.partial),
                   addr.to_string(), b.interface_name);
  if (db_) {
    peerdb::PeerUpdate u;
    u.partial = b.partial;
    u.addresses.push_back({addr.to_string(), peerdb::AddressKind::kBeacon, unix_ms()});
    u.seen = peerdb::EventKind::kBeaconObserved;
    u.now_ms = unix_ms();
    (void)db_->upsert_peer(u);
  }
  if (auto r = link->mgr->dial(addr); !r)
    node_log()->warn("dial {} ({}): {}", addr.to_string(), identity::text_id(b.partial),
                     r.error().message);
}

void Node::add_static_peers() {
  resolve_timers_.clear();
  if (!resolver_) resolver_ = std::make_unique<asio::ip::udp::resolver>(io_);
  for (std::size_t i = 0; i < config_.static_peers.size(); ++i) {
    resolve_timers_.push_back(std::make_unique<asio::steady_timer>(io_));
    resolve_later(i, 0);
  }
}

Node::Link* Node::link_for_route_to(const transport::Address& remote) {
  if (!per_interface_links_ || !discovery_) return links_[0].get();
  auto src = source_for(remote);
  if (!src) return links_[0].get();
  for (const auto& itf : discovery_->interfaces()) {
    bool match =
        (src->is_v4() && itf.ipv4 && *itf.ipv4 == src->to_v4()) ||
        (src->is_v6() && itf.link_local && itf.link_local->to_bytes() == src->to_v6().to_bytes());
    if (!match) continue;
    if (Link* l = interface_link(itf.id)) return l;
  }
  return links_[0].get();
}

// Resolves static peer `index` (names may not resolve yet at boot) without blocking the loop,
// and hands it to the link that routes to it, which keeps a session up. Retries every 5 s while
// the name does not resolve. stop() cancels pending lookups (resolver_); a lookup that finishes
// after the node is gone only sees `alive` false.
void Node::resolve_later(std::size_t index, Duration delay) {
  auto& timer = *resolve_timers_[index];
  timer.expires_after(std::chrono::nanoseconds(delay));
  timer.async_wait([this, alive = alive_, index](const std::error_code& ec) {
    if (ec || !*alive || stopped_) return;
    const HostPort& hp = config_.static_peers[index];
    std::error_code lec;
    asio::ip::address literal = asio::ip::make_address(hp.host, lec);
    if (!lec) {  // an address needs no lookup
      on_static_peer_resolved(index, {},
                              asio::ip::udp::resolver::results_type::create(
                                  {literal, hp.port}, hp.host, std::to_string(hp.port)));
      return;
    }
    resolver_->async_resolve(
        hp.host, std::to_string(hp.port),
        [this, alive, index](const std::error_code& rec,
                             const asio::ip::udp::resolver::results_type& results) {
          if (!*alive || rec == asio::error::operation_aborted || stopped_) return;
          on_static_peer_resolved(index, rec, results);
        });
  });
}

void Node::on_static_peer_resolved(std::size_t index, const std::error_code& rec,
                                   const asio::ip::udp::resolver::results_type& results) {
  const HostPort& hp = config_.static_peers[index];
  if (rec || results.empty()) {
    node_log()->warn("static peer {}: cannot resolve ({}); retrying in 5 s", hp.to_string(),
                     rec ? rec.message() : "no address");
    resolve_later(index, 5 * kSecond);
    return;
  }
  // The first address the listen socket's family can reach (an IPv4 socket cannot dial IPv6).
  auto chosen = results.begin();
  bool v4_only = links_[0]->mgr->local_address().family() == AF_INET;
  for (auto it = results.begin(); it != results.end(); ++it)
    if (!v4_only || it->endpoint().address().is_v4()) {
      chosen = it;
      break;
    }
  transport::Address probe(reinterpret_cast<const sockaddr*>(chosen->endpoint().data()),
                           static_cast<socklen_t>(chosen->endpoint().size()));
  Link* link = link_for_route_to(probe);
  auto addr = for_socket(link->mgr->local_address(), chosen->endpoint());
  if (addr.empty() ||
      (link->mgr->local_address().family() == AF_INET && addr.family() == AF_INET6)) {
    node_log()->error(
        "static peer {}: no address of a family listen.address {} can reach (use \"::\" for "
        "both); retrying in 30 s",
        hp.to_string(), link->mgr->local_address().to_string());
    resolve_later(index, 30 * kSecond);
    return;
  }
  node_log()->info("static peer {} -> {}{}", hp.to_string(), addr.to_string(),
                   link->name.empty() ? "" : " on " + link->name);
  link->mgr->add_static_peer(addr);
}

SessionView Node::view(Link& link, link::Session& s) const {
  SessionView v;
  v.id = make_route_session(link.slot, s.id());
  v.peer_text_id = s.peer_text_id();
  v.peer_id = s.peer_id();
  v.remote = s.remote_address().to_string();
  v.dialled = s.dialled();
  v.rtt_ms = static_cast<double>(s.rtt()) / 1e6;
  v.interface_id = link.interface_id;
  v.interface_name = link.name;
  return v;
}

void Node::on_link_up(Link& link, link::Session& s) {
  auto v = view(link, s);
  node_log()->info("session up: {} at {}{} ({}, rtt {:.2f} ms)", v.peer_text_id, v.remote,
                   link.name.empty() ? "" : " on " + link.name, v.dialled ? "dialled" : "accepted",
                   v.rtt_ms);
  std::vector<Bytes> chain;
  if (auto* c = s.connection()) chain = c->peer().chain_der;
  if (keys_ && !chain.empty()) (void)keys_->add(chain);
  if (db_) {
    peerdb::PeerUpdate u;
    u.partial = identity::partial_of(s.peer_id());
    u.node_id = s.peer_id();
    if (!chain.empty()) u.cert_chain = chain;
    u.addresses.push_back({v.remote, peerdb::AddressKind::kSession, unix_ms()});
    u.seen = peerdb::EventKind::kSessionUp;
    u.now_ms = unix_ms();
    (void)db_->upsert_peer(u);
    (void)db_->record_event(
        {0, peerdb::EventKind::kSessionUp, u.partial, link.interface_id, unix_ms(), v.remote});
  }
  if (router_) {
    router_->on_neighbour_up(v.id, s.peer_id(), link.interface_id, now());
    pump();
  }
  if (on_session_change) on_session_change(v, true);
}

void Node::on_link_down(Link& link, link::Session& s, const transport::CloseInfo& why) {
  auto v = view(link, s);
  node_log()->info("session down: {} at {}: {}", v.peer_text_id, v.remote, why.to_string());
  if (db_ && !stopped_) {
    (void)db_->record_event({0, peerdb::EventKind::kSessionDown, identity::partial_of(s.peer_id()),
                             link.interface_id, unix_ms(), why.to_string().substr(0, 200)});
  }
  if (dataplane_ && !stopped_) dataplane_->dp.on_session_closed(v.id);
  if (router_ && !stopped_) {
    router_->on_neighbour_down(v.id, now());
    pump();
  }
  if (on_session_change) on_session_change(v, false);
}

link::Session* Node::session_of(std::uint64_t rs, Link** link) {
  std::size_t slot = route_session_slot(rs);
  Link* found = nullptr;
  for (auto& l : links_)
    if (l && l->slot == slot) found = l.get();
  if (!found) return nullptr;
  if (link) *link = found;
  link::Session* s = found->mgr->session(route_session_sid(rs));
  return s && s->is_up() ? s : nullptr;
}

std::vector<SessionView> Node::sessions() {
  std::vector<SessionView> out;
  for (auto& l : links_) {
    if (!l) continue;
    for (link::Session* s : l->mgr->up_sessions()) out.push_back(view(*l, *s));
  }
  return out;
}

}  // namespace qc::daemon
