#include "daemon/node.h"

#include <csignal>
#include <filesystem>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/node_internal.h"
#include "daemon/node_vpn.h"

namespace qc::daemon {

std::string text_of_partial_bytes(const std::string& bytes) {
  if (bytes.size() < identity::kPartialIdSize) return "?";
  identity::PartialId p{};
  std::copy_n(reinterpret_cast<const std::uint8_t*>(bytes.data()), p.size(), p.begin());
  return identity::text_id(p);
}

Node::Node(asio::io_context& io, NodeConfig config, std::unique_ptr<identity::Identity> id)
    : io_(io), config_(std::move(config)), identity_(std::move(id)) {}

Node::~Node() {
  stop();
  *alive_ = false;
}

Result<std::unique_ptr<Node>> Node::create(asio::io_context& io, NodeConfig config) {
  auto id =
      identity::Identity::load({config.identity.ca, config.identity.cert, config.identity.key});
  if (!id) return Err(id.error());
  return std::unique_ptr<Node>(
      new Node(io, std::move(config), std::make_unique<identity::Identity>(std::move(*id))));
}

std::string Node::label() const {
  return config_.name.empty() ? identity_->text_id() : config_.name;
}

std::uint16_t Node::port() const {
  return !links_.empty() && links_[0] ? links_[0]->mgr->local_address().port() : 0;
}

Result<void> Node::start() {
  if (started_) return Ok();
  started_ = true;
  std::error_code ec;
  std::filesystem::create_directories(config_.data_dir, ec);
  if (ec)
    return Err(Errc::kIo, "cannot create data_dir '" + config_.data_dir + "': " + ec.message() +
                              " (set data_dir to a writable directory)");

  auto db = peerdb::PeerDb::open(config_.data_dir + "/peerdb");
  if (!db) return Err(db.error().code, "peer database: " + db.error().message);
  db_ = std::move(*db);

  auto listen = transport::Address::parse(config_.listen.address, config_.listen.port);
  if (!listen)
    return Err(Errc::kInvalidArgument,
               "listen.address '" + config_.listen.address +
                   "' is not an IP address (use e.g. \"::\" or \"0.0.0.0\")");
  // The links share the port with SO_REUSEADDR (one socket per interface), which would also let a
  // second node bind it: first make sure nobody else holds it.
  if (config_.listen.port != 0) {
    int fd = ::socket(listen->family(), SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
      int off = 0;
      if (listen->family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
      int rc = ::bind(fd, listen->sockaddr_ptr(), listen->size());
      int e = errno;
      ::close(fd);
      if (rc != 0)
        return Err(Errc::kIo, "cannot listen on " + listen->to_string() + ": " + std::strerror(e) +
                                  " (is another node running? change listen.port)");
    }
  }
  init_routing();
  init_dataplane();
  auto link0 = open_link(discovery::interface_id("listen", {}), "", *listen);
  if (!link0) return Err(link0.error());
  if (config_.listen.port == 0) config_.listen.port = (*link0)->mgr->local_address().port();

  init_control();
  if (auto r = control_->start(); !r) return Err(r.error());
  if (auto r = init_front(); !r) return Err(r.error());

  node_log()->info("node {} ({}) listening on {}; address {}, cluster {}", label(),
                   identity_->hostname(config_.identity.suffix),
                   links_[0]->mgr->local_address().to_string(),
                   identity::ipv6_to_string(identity_->address()),
                   identity::cluster_prefix(identity_->cluster_id()));

  if (config_.discovery.enabled) {
    discovery::Options dopt;
    dopt.port = config_.discovery.port;
    dopt.filter.allow = config_.discovery.allow;
    dopt.filter.deny = config_.discovery.deny;
    // The node's own TUN device leads into the mesh itself: no beacons or sessions over it.
    if (config_.vpn.enabled) dopt.filter.deny.push_back(config_.vpn.device);
    discovery::LocalNode self{identity_->cluster_id(), identity_->partial_id(), port()};
    auto d = discovery::Discovery::create(
        io_, dopt, self, [this](const discovery::BeaconHeard& b) { on_beacon(b); });
    if (!d) return Err(d.error().code, "discovery: " + d.error().message);
    discovery_ = std::move(*d);
    discovery_->start();
    sync_interfaces();
  }
  add_static_peers();
  sweep_database();
  if (config_.vpn.enabled) {
    // Without the device the node still runs its other front ends (issue 7).
    auto vpn = std::make_unique<Vpn>(*this);
    if (auto r = vpn->start(); !r) {
      node_log()->error("{}", r.error().message);
    } else {
      vpn_ = std::move(vpn);
    }
  }
  return Ok();
}

// Forgets peers and routes not seen for a week, now and every hour.
void Node::sweep_database() {
  if (stopped_ || !db_) return;
  constexpr std::uint64_t kMaxAgeMs = 7ull * 24 * 3600 * 1000;
  if (auto r = db_->sweep(unix_ms(), kMaxAgeMs); !r) {
    node_log()->warn("peer database sweep: {}", r.error().message);
  } else if (r->peers || r->routes || r->corrupt) {
    node_log()->info("peer database sweep: {} stale peers, {} routes, {} corrupt records removed",
                     r->peers, r->routes, r->corrupt);
  }
  if (!sweep_timer_) sweep_timer_ = std::make_unique<asio::steady_timer>(io_);
  sweep_timer_->expires_after(std::chrono::hours(1));
  sweep_timer_->async_wait([this, alive = alive_](const std::error_code& ec) {
    if (!ec && *alive) sweep_database();
  });
}

void Node::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& t : resolve_timers_) t->cancel();
  if (resolver_) resolver_->cancel();
  if (interface_timer_) interface_timer_->cancel();
  if (sweep_timer_) sweep_timer_->cancel();
  deferred_dials_.clear();  // their handlers find stopped_ set
  if (routing_timer_) routing_timer_->cancel();
  if (vpn_) vpn_->stop();
  for (auto& j : pings_) finish_ping(*j, Err(Errc::kClosed, "the node is stopping"));
  for (auto& j : traces_) finish_trace(*j);
  if (dataplane_ && dataplane_->pump) dataplane_->pump->stop();
  for (auto& w : waiters_)
    if (!w->finished) {
      w->finished = true;
      if (w->timer) w->timer->cancel();
      w->done(Err(Errc::kClosed, "the node is stopping"));
    }
  std::vector<ChannelWaiter*> channel_waiters;
  for (auto& w : channel_waiters_) channel_waiters.push_back(w.get());
  for (ChannelWaiter* w : channel_waiters) {
    finish_channel_waiter(*w, Err(Errc::kClosed, "the node is stopping"));
  }
  stop_front();
  if (discovery_) discovery_->stop();
  if (control_) control_->stop();
  for (auto& l : links_)
    if (l && l->mgr) l->mgr->shutdown();
}

int run_node(const NodeConfig& config) {
  log::set_level(config.log_level);
  asio::io_context io(1);
  auto node = Node::create(io, config);
  if (!node) {
    node_log()->error("{}", node.error().message);
    return 1;
  }
  if (auto r = (*node)->start(); !r) {
    node_log()->error("{}", r.error().message);
    (*node)->stop();
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    node_log()->info("signal {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*node)->stop();
    io.stop();
  });
  io.run();
  node->reset();
  node_log()->info("stopped");
  return 0;
}

}  // namespace qc::daemon
