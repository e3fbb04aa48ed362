// Node: streams and datagrams over the channels, the SOCKS5 proxy and the expose side.
//
//   dial(peer, port) / SOCKS5 CONNECT -> MeshDialer -> open_stream(peer): circuits (connect),
//   the channel (opened on demand), a new channel stream, then the open request with the port.
//   A stream a peer opens -> LocalConnector: the port goes to an in-process listener (listen())
//   when there is one, else to the local service named by [expose], else it is refused (0x02).
#include <asio/post.hpp>

#include "daemon/channel_streams.h"
#include "daemon/node_internal.h"

namespace qc::daemon {

namespace {
// How long a stream open waits for the peer's stream limit to free up before trying again.
constexpr Duration kStreamRetry = 50 * kMillisecond;
constexpr std::uint8_t kAppDatagram = 0x03;
}  // namespace

Result<void> Node::init_front() {
  auto policy = front::ExposePolicy::parse(config_.expose);
  if (!policy) return Err(Errc::kParse, "[expose] ports: " + policy.error().message);
  front_ = std::make_unique<Front>(*this, io_, std::move(*policy));
  if (config_.socks.allow_direct) front_->direct = std::make_unique<front::TcpDialer>(io_);
  front_->dialer = std::make_unique<front::MeshDialer>(io_, front_->opener, front_->direct.get());
  front_->connector.set_listeners(
      [this](std::uint16_t port) { return front_->listeners.count(port) > 0; },
      [this](std::uint16_t port, std::unique_ptr<front::ByteStream> s) {
        auto it = front_->listeners.find(port);
        auto* cs = dynamic_cast<ChannelStream*>(s.get());
        if (it == front_->listeners.end() || cs == nullptr) return;  // dropped: reset
        identity::NodeId peer = cs->peer();
        Accept accept = it->second;  // a copy: the listener may unlisten from inside
        accept(peer, std::move(s));
      });
  if (dataplane_ && dataplane_->channels) {
    front_->streams = std::make_unique<ChannelStreams>(io_, *dataplane_->channels,
                                                       [this] { dataplane_->schedule_flush(); });
    front_->streams->set_acceptor(
        [this](std::unique_ptr<ChannelStream> s) { front_->connector.accept(std::move(s)); });
    dataplane_->streams = front_->streams.get();
  }
  if (config_.socks.listen) {
    front::Socks5ServerOptions o;
    o.address = config_.socks.listen->host;
    o.port = config_.socks.listen->port;
    if (!config_.socks.username.empty())
      o.auth.credentials =
          front::socks5::AuthConfig::Credentials{config_.socks.username, config_.socks.password};
    o.destinations.suffix = config_.identity.suffix;
    o.destinations.cluster = identity_->cluster_id();
    o.destinations.allow_direct = config_.socks.allow_direct;
    auto server = front::Socks5Server::start(io_, o, *front_->dialer);
    if (!server)
      return Err(server.error().code, "SOCKS5 proxy on " + config_.socks.listen->to_string() +
                                          ": " + server.error().message +
                                          " (change [socks] listen, or remove it)");
    front_->socks = std::move(*server);
    auto ep = front_->socks->local_endpoint();
    node_log()->info("SOCKS5 proxy on {}:{}", ep.address().to_string(), ep.port());
  }
  return Ok();
}

void Node::stop_front() {
  if (!front_) return;
  if (front_->socks) front_->socks->stop();
  front_->listeners.clear();
  if (dataplane_) dataplane_->streams = nullptr;
}

// Ends one waiter now (the node is stopping): its timer handler sees `finished`.
void Node::finish_channel_waiter(ChannelWaiter& w, Result<channel::Channel*> r) {
  if (w.finished) return;
  w.finished = true;
  w.timer->cancel();
  auto done = std::move(w.done);
  done(std::move(r));
}

std::optional<std::pair<std::string, std::uint16_t>> Node::socks_endpoint() const {
  if (!front_ || !front_->socks) return std::nullopt;
  auto ep = front_->socks->local_endpoint();
  return std::pair{ep.address().to_string(), ep.port()};
}

void Node::with_channel(const identity::NodeIdPrefix& peer, const std::string& name,
                        Duration timeout, std::function<void(Result<channel::Channel*>)> done) {
  // Every answer is posted: callers get it from the loop, never from inside this call.
  auto answer = [this](std::function<void(Result<channel::Channel*>)> d, Error e) {
    asio::post(io_, [d = std::move(d), e = std::move(e)] { d(Err(e)); });
  };
  if (stopped_ || !dataplane_ || !dataplane_->channels)
    return answer(std::move(done), Error{Errc::kClosed, "channels are not running on this node"});
  Timestamp deadline = now() + timeout;
  connect(peer, name, timeout,
          [this, name, deadline, done = std::move(done), answer](Result<CircuitView> c) mutable {
            if (!c) return answer(std::move(done), c.error());
            auto w = std::make_unique<ChannelWaiter>();
            w->peer = c->remote;
            w->done = std::move(done);
            w->timer = std::make_unique<asio::steady_timer>(io_);
            Timestamp n = now();
            w->timer->expires_after(std::chrono::nanoseconds(deadline > n ? deadline - n : 0));
            ChannelWaiter* wp = w.get();
            w->timer->async_wait([this, alive = alive_, wp, name](const std::error_code& ec) {
              if (ec || !*alive || wp->finished) return;
              wp->finished = true;
              auto d = std::move(wp->done);
              std::erase_if(channel_waiters_, [wp](auto& x) { return x.get() == wp; });
              d(Err(Errc::kTimeout, "the channel to " + name + " did not open in time"));
            });
            channel_waiters_.push_back(std::move(w));
            identity::NodeId id = wp->peer;
            channel::Channel* ch = dataplane_->channels->open(id, now());
            dataplane_->schedule_flush();
            if (ch != nullptr && ch->is_ready()) {
              asio::post(io_, [this, alive = alive_, id] {
                if (*alive) on_channel_event(id, nullptr);
              });
            }
          });
}

void Node::on_channel_event(const identity::NodeId& peer, const Error* closed) {
  std::vector<std::unique_ptr<ChannelWaiter>> hit;
  for (auto& w : channel_waiters_)
    if (!w->finished && w->peer == peer) {
      w->finished = true;
      w->timer->cancel();
      hit.push_back(std::move(w));
    }
  if (hit.empty()) return;
  std::erase_if(channel_waiters_, [](auto& w) { return w == nullptr; });
  Error why = closed ? *closed : Error{Errc::kClosed, "the channel closed"};
  // Answer from the loop: we may be inside a channel callback.
  asio::post(io_, [this, alive = alive_, peer, closed = closed != nullptr, why,
                   hit = std::make_shared<decltype(hit)>(std::move(hit))] {
    if (!*alive) return;  // the node is gone: so are the callers its callbacks would reach
    for (auto& w : *hit) {
      channel::Channel* ch =
          dataplane_ && dataplane_->channels ? dataplane_->channels->find(peer) : nullptr;
      if (!closed && ch != nullptr && ch->is_ready() && !ch->is_closed()) {
        w->done(ch);
      } else {
        w->done(Err(why));
      }
    }
  });
}

void Node::open_stream(const identity::NodeIdPrefix& peer, Duration timeout, StreamDone done) {
  std::string name = identity::text_id(peer.partial());
  Timestamp deadline = now() + timeout;
  with_channel(
      peer, name, timeout,
      [this, deadline, name, done = std::move(done)](Result<channel::Channel*> ch) {
        if (!ch) return done(Err(ch.error()));
        identity::NodeId id = (*ch)->peer();
        // Retries while the peer's stream limit is reached (kLimit), until the deadline.
        auto attempt = std::make_shared<std::function<void()>>();
        auto timer = std::make_shared<asio::steady_timer>(io_);
        std::weak_ptr<std::function<void()>> weak = attempt;
        *attempt = [this, id, deadline, name, done, weak, timer] {
          if (!front_ || !front_->streams) return done(Err(Errc::kClosed, "the node stopped"));
          auto s = front_->streams->open(id);
          if (s) return done(std::unique_ptr<front::ByteStream>(std::move(*s)));
          if (s.error().code != Errc::kLimit || now() >= deadline)
            return done(Err(s.error().code, "stream to " + name + ": " + s.error().message));
          timer->expires_after(std::chrono::nanoseconds(kStreamRetry));
          // The pending wait holds the attempt; nothing else does.
          timer->async_wait([again = weak.lock()](const std::error_code& ec) {
            if (!ec && again) (*again)();
          });
        };
        (*attempt)();
      });
}

void Node::dial(const std::string& peer, std::uint16_t port, Duration timeout, StreamDone done) {
  auto fail = [this, &done](Error e) {
    asio::post(io_, [d = std::move(done), e = std::move(e)] { d(Err(e)); });
  };
  if (!front_ || !front_->dialer) return fail({Errc::kClosed, "the node is not running"});
  auto cluster = identity_->cluster_id();
  auto parsed = identity::parse_peer(peer, config_.identity.suffix, &cluster);
  if (!parsed) return fail(parsed.error());
  if (port == 0) return fail({Errc::kInvalidArgument, "port 0 is not a service port"});
  front::Destination d;
  d.kind = front::Destination::Kind::kMesh;
  d.peer = *parsed;
  d.address.type = front::socks5::AddressType::kDomain;
  d.address.domain = peer;
  d.address.port = port;
  // The MeshDialer waits for the open response; the overall deadline is the caller's.
  auto finished = std::make_shared<bool>(false);
  auto timer = std::make_shared<asio::steady_timer>(io_);
  auto shared_done = std::make_shared<StreamDone>(std::move(done));
  timer->expires_after(std::chrono::nanoseconds(timeout));
  timer->async_wait([finished, shared_done, peer, port](const std::error_code& ec) {
    if (ec || *finished) return;
    *finished = true;
    (*shared_done)(Err(Errc::kTimeout,
                       "no answer from " + peer + " port " + std::to_string(port) + " in time"));
  });
  front_->dialer->dial(
      d, [finished, timer, shared_done](Result<std::unique_ptr<front::ByteStream>> s) {
        if (*finished) return;  // timed out: the stream (if any) is dropped, which resets it
        *finished = true;
        timer->cancel();
        (*shared_done)(std::move(s));
      });
}

Result<void> Node::listen(std::uint16_t port, Accept accept) {
  if (!front_) return Err(Errc::kClosed, "the node is not running");
  if (port == 0) return Err(Errc::kInvalidArgument, "port 0 is not a service port");
  if (!front_->listeners.emplace(port, std::move(accept)).second)
    return Err(Errc::kInvalidArgument, "port " + std::to_string(port) + " already has a listener");
  return Ok();
}

void Node::unlisten(std::uint16_t port) {
  if (front_) front_->listeners.erase(port);
}

std::size_t Node::datagram_room(const identity::NodeId& peer) {
  if (!dataplane_ || !dataplane_->channels) return 0;
  channel::Channel* ch = dataplane_->channels->find(peer);
  if (ch == nullptr || !ch->is_ready()) return 0;
  std::size_t room = ch->datagram_room();
  return room > 1 ? room - 1 : 0;  // one byte says what the datagram is
}

std::size_t Node::datagram_room(const identity::NodeIdPrefix& peer) {
  if (!router_) return 0;
  std::optional<identity::NodeId> found;
  router_->circuits().for_each([&](routing::CircuitHandle h, const routing::CircuitEntry&) {
    const routing::EndpointInfo* info = router_->endpoint(h);
    if (!found && info && peer.matches(info->remote)) found = info->remote;
  });
  return found ? datagram_room(*found) : 0;
}

void Node::send_datagram(const std::string& peer, Bytes data, Duration timeout,
                         std::function<void(Result<void>)> done) {
  auto cluster = identity_->cluster_id();
  auto parsed = identity::parse_peer(peer, config_.identity.suffix, &cluster);
  if (!parsed) {
    asio::post(io_, [done, e = parsed.error()] { done(Err(e)); });
    return;
  }
  with_channel(
      *parsed, peer, timeout, [this, data = std::move(data), done](Result<channel::Channel*> ch) {
        if (!ch) return done(Err(ch.error()));
        Bytes d;
        d.reserve(data.size() + 1);
        d.push_back(kAppDatagram);
        d.insert(d.end(), data.begin(), data.end());
        auto r = (*ch)->send_datagram(d);
        if (!r && r.error().code == Errc::kTooLarge)
          return done(Err(Errc::kTooLarge, "datagram of " + std::to_string(data.size()) +
                                               " bytes; the channel carries at most " +
                                               std::to_string(datagram_room((*ch)->peer()))));
        dataplane_->schedule_flush();
        done(r);
      });
}

bool Node::on_app_datagram(const identity::NodeId& peer, ByteView data) {
  if (data.empty() || data[0] != kAppDatagram) return false;
  if (on_datagram) on_datagram(peer, data.subspan(1));
  return true;
}

}  // namespace qc::daemon
