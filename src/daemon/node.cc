#include "daemon/node.h"

#include <csignal>

#include "common/log.h"

namespace qc::daemon {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  return log::get("node");
}

Duration seconds(double s) {
  return static_cast<Duration>(s * 1e9);
}

// A socket bound to an IPv6 address is dual-stack: it reaches IPv4 peers as ::ffff:a.b.c.d.
transport::Address for_socket(const transport::Address& local, const asio::ip::udp::endpoint& ep) {
  asio::ip::address a = ep.address();
  if (local.family() == AF_INET6 && a.is_v4())
    a = asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4());
  auto r = transport::Address::parse(a.to_string(), ep.port());
  return r ? *r : transport::Address();
}

}  // namespace

Node::Node(asio::io_context& io, NodeConfig config, std::unique_ptr<identity::Identity> id)
    : io_(io), config_(std::move(config)), identity_(std::move(id)) {}

Node::~Node() {
  stop();
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
  return sessions_ ? sessions_->local_address().port() : 0;
}

SessionView Node::view(link::Session& s, std::uint32_t interface_id) {
  SessionView v;
  v.peer_text_id = s.peer_text_id();
  v.peer_id = s.peer_id();
  v.remote = s.remote_address().to_string();
  v.dialled = s.dialled();
  v.rtt_ms = static_cast<double>(s.rtt()) / 1e6;
  v.interface_id = interface_id;
  return v;
}

Result<void> Node::start() {
  auto listen = transport::Address::parse(config_.listen.address, config_.listen.port);
  if (!listen)
    return Err(Errc::kInvalidArgument,
               "listen.address '" + config_.listen.address +
                   "' is not an IP address (use e.g. \"::\" or \"0.0.0.0\")");
  link::SessionManagerOptions opts;
  opts.listen = *listen;
  opts.interface_id = 0;  // one UDP endpoint for all interfaces until discovery binds per interface
  opts.suffix = config_.identity.suffix;
  opts.idle_timeout = seconds(config_.session.idle_timeout);
  opts.keep_alive = seconds(config_.session.keepalive);
  opts.redial_initial = seconds(config_.session.redial_min);
  opts.redial_max = seconds(config_.session.redial_max);

  link::SessionCallbacks cb;
  cb.on_up = [this](link::Session& s) {
    auto v = view(s, 0);
    logger()->info("session up: {} at {} ({}, rtt {:.2f} ms)", v.peer_text_id, v.remote,
                   v.dialled ? "dialled" : "accepted", v.rtt_ms);
    if (on_session_change) on_session_change(v, true);
  };
  cb.on_down = [this](link::Session& s, const transport::CloseInfo& why) {
    auto v = view(s, 0);
    logger()->info("session down: {} at {}: {}", v.peer_text_id, v.remote, why.to_string());
    if (on_session_change) on_session_change(v, false);
  };
  sessions_ = std::make_unique<link::SessionManager>(io_, *identity_, opts, std::move(cb));
  if (auto r = sessions_->start(); !r) {
    sessions_.reset();
    return Err(r.error().code, "cannot listen on " + listen->to_string() + ": " +
                                   r.error().message +
                                   " (is another node running? change listen.port)");
  }
  logger()->info("node {} ({}) listening on {}; address {}, cluster {}", label(),
                 identity_->hostname(config_.identity.suffix),
                 sessions_->local_address().to_string(),
                 identity::ipv6_to_string(identity_->address()),
                 identity::cluster_prefix(identity_->cluster_id()));
  add_static_peers();
  return Ok();
}

void Node::add_static_peers() {
  resolve_timers_.clear();
  for (std::size_t i = 0; i < config_.static_peers.size(); ++i) {
    resolve_timers_.push_back(std::make_unique<asio::steady_timer>(io_));
    resolve_later(i, 0);
  }
}

// Resolves static peer `index` (names may not resolve yet at boot) and hands it to the session
// manager, which keeps a session to it up. Retries every 5 s while the name does not resolve.
void Node::resolve_later(std::size_t index, Duration delay) {
  auto& timer = *resolve_timers_[index];
  timer.expires_after(std::chrono::nanoseconds(delay));
  timer.async_wait([this, index](const std::error_code& ec) {
    if (ec || stopped_ || !sessions_) return;
    const HostPort& hp = config_.static_peers[index];
    asio::ip::udp::resolver resolver(io_);
    std::error_code rec;
    auto results = resolver.resolve(hp.host, std::to_string(hp.port), rec);
    if (rec || results.empty()) {
      logger()->warn("static peer {}: cannot resolve ({}); retrying in 5 s", hp.to_string(),
                     rec ? rec.message() : "no address");
      resolve_later(index, 5 * kSecond);
      return;
    }
    auto addr = for_socket(sessions_->local_address(), results.begin()->endpoint());
    if (addr.empty() ||
        (sessions_->local_address().family() == AF_INET && addr.family() == AF_INET6)) {
      logger()->error("static peer {}: address family does not match listen.address {}",
                      hp.to_string(), sessions_->local_address().to_string());
      return;
    }
    logger()->info("static peer {} -> {}", hp.to_string(), addr.to_string());
    sessions_->add_static_peer(addr);
  });
}

std::vector<SessionView> Node::sessions() {
  std::vector<SessionView> out;
  if (!sessions_) return out;
  for (link::Session* s : sessions_->up_sessions()) out.push_back(view(*s, 0));
  return out;
}

void Node::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& t : resolve_timers_) t->cancel();
  if (sessions_) sessions_->shutdown();
}

int run_node(const NodeConfig& config) {
  log::set_level(config.log_level);
  asio::io_context io(1);
  auto node = Node::create(io, config);
  if (!node) {
    logger()->error("{}", node.error().message);
    return 1;
  }
  if (auto r = (*node)->start(); !r) {
    logger()->error("{}", r.error().message);
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    logger()->info("signal {}: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    (*node)->stop();
    io.stop();
  });
  io.run();
  node->reset();
  logger()->info("stopped");
  return 0;
}

}  // namespace qc::daemon
