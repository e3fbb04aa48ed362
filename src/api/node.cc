// The C++ API (include/qc/node.h) over daemon::Node.
//
// Threads: the daemon::Node and every front::ByteStream live on the NodeCore's loop thread.
// The caller's threads talk to them through StreamCore/ListenerCore (a mutex, a condition
// variable and bounded buffers) and asio::post. Blocking calls never run on the loop thread.
#include "qc/node.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/node.h"
#include "front/byte_stream.h"
#include "identity/identity.h"

namespace qc {
namespace api_detail {

// Bytes a stream holds in each direction between the caller and the loop.
constexpr std::size_t kStreamBuffer = 1u << 20;

struct StreamCore final : front::ByteStream::Handler, std::enable_shared_from_this<StreamCore> {
  StreamCore(asio::io_context& loop, std::string peer_id) : io(loop), peer(std::move(peer_id)) {}

  // ---- loop thread ----
  void attach(std::unique_ptr<front::ByteStream> s, std::set<std::shared_ptr<StreamCore>>* reg) {
    stream = std::move(s);
    registry = reg;
    registry->insert(shared_from_this());
    stream->set_handler(this);
  }
  std::size_t on_data(ByteView d) override {
    std::lock_guard lock(m);
    std::size_t held = in.size() - in_off;
    std::size_t take = held >= kStreamBuffer ? 0 : std::min(d.size(), kStreamBuffer - held);
    in.insert(in.end(), d.begin(), d.begin() + static_cast<std::ptrdiff_t>(take));
    if (take < d.size()) paused = true;
    cv.notify_all();
    return take;
  }
  void on_fin() override {
    std::lock_guard lock(m);
    fin_in = true;
    cv.notify_all();
  }
  void on_writable() override { pump(); }
  void on_closed(Result<void> outcome) override {
    {
      std::lock_guard lock(m);
      closed = true;
      if (!outcome) error = outcome.error();
      cv.notify_all();
    }
    release();
  }
  // Moves queued bytes into the stream; sends FIN once everything went.
  void pump() {
    pump_posted = false;
    if (!stream) return;
    std::lock_guard lock(m);
    while (out_off < out.size()) {
      std::size_t n = stream->write(ByteView(out.data() + out_off, out.size() - out_off));
      if (n == 0) break;
      out_off += n;
    }
    if (out_off == out.size()) {
      out.clear();
      out_off = 0;
      if (finish_requested && !fin_sent) {
        fin_sent = true;
        stream->shutdown_write();
      }
    }
    cv.notify_all();
  }
  void resume() {
    resume_posted = false;
    if (stream) stream->resume_reading();
  }
  void abort(const std::string& why) {
    if (stream) {
      stream->set_handler(nullptr);
      stream->reset();
    }
    {
      std::lock_guard lock(m);
      if (!closed) {
        closed = true;
        error = Error{Errc::kClosed, why};
      }
      cv.notify_all();
    }
    release();
  }
  // Drops the stream on a later turn (we may be inside its callback) and leaves the registry.
  void release() {
    auto self = shared_from_this();
    if (stream) asio::post(io, [s = std::shared_ptr<front::ByteStream>(std::move(stream))] {});
    if (registry) {
      registry->erase(self);
      registry = nullptr;
    }
  }

  // ---- any thread ----
  void post_pump() {
    // m is held by the caller.
    if (pump_posted) return;
    pump_posted = true;
    asio::post(io, [self = shared_from_this()] { self->pump(); });
  }

  asio::io_context& io;
  std::string peer;
  std::unique_ptr<front::ByteStream> stream;                  // loop thread
  std::set<std::shared_ptr<StreamCore>>* registry = nullptr;  // loop thread

  std::mutex m;
  std::condition_variable cv;
  Bytes in;
  std::size_t in_off = 0;
  bool paused = false;
  bool resume_posted = false;
  bool fin_in = false;
  Bytes out;
  std::size_t out_off = 0;
  bool pump_posted = false;
  bool finish_requested = false;
  bool fin_sent = false;
  bool closed = false;
  std::optional<Error> error;
};

struct ListenerCore {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::shared_ptr<StreamCore>> pending;
  bool closed = false;
};

struct NodeCore : std::enable_shared_from_this<NodeCore> {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::unique_ptr<daemon::Node> node;  // loop thread
  std::string id, address;
  std::uint16_t port = 0;
  std::set<std::shared_ptr<StreamCore>> streams;                     // loop thread
  std::map<std::uint16_t, std::shared_ptr<ListenerCore>> listeners;  // loop thread
  std::mutex m;
  std::condition_variable cv;
  bool stopped = false;

  bool on_loop() const { return std::this_thread::get_id() == thread.get_id(); }

  // Runs `f` on the loop; `f` calls its `answer` exactly once (possibly later). Blocks until
  // then, or until the node stopped (kClosed).
  template <class T>
  Result<T> call(std::function<void(std::function<void(Result<T>)>)> f) {
    if (on_loop())
      return Err(Errc::kInvalidArgument,
                 "blocking qc::Node calls cannot be made from the node's own callbacks");
    struct Slot {
      std::optional<Result<T>> value;
    };
    auto slot = std::make_shared<Slot>();
    // Handlers hold a plain pointer: they run only on the loop thread, which stop() joins before
    // the NodeCore can go, and a shared_ptr in a handler queued on our own io_context would keep
    // the NodeCore (and its io_context) alive for ever.
    NodeCore* self = this;
    {
      std::lock_guard lock(m);
      if (stopped) return Err(Errc::kClosed, "the node is stopped");
    }
    asio::post(io, [self, slot, f = std::move(f)] {
      f([self, slot](Result<T> r) {
        std::lock_guard lock(self->m);
        slot->value.emplace(std::move(r));
        self->cv.notify_all();
      });
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return slot->value.has_value() || stopped; });
    if (!slot->value) return Err(Errc::kClosed, "the node stopped");
    return std::move(*slot->value);
  }

  void stop() {
    {
      std::lock_guard lock(m);
      if (stopped) return;
    }
    if (thread.joinable() && !on_loop()) {
      asio::post(io, [this] {
        auto all = streams;
        for (const auto& s : all) s->abort("the node stopped");
        for (auto& [p, l] : listeners) {
          std::lock_guard lock(l->m);
          l->closed = true;
          l->pending.clear();
          l->cv.notify_all();
        }
        if (node) node->stop();
        node.reset();
        work.reset();
        io.stop();
      });
      thread.join();
    }
    std::lock_guard lock(m);
    stopped = true;
    cv.notify_all();
  }
};

}  // namespace api_detail

using api_detail::ListenerCore;
using api_detail::NodeCore;
using api_detail::StreamCore;

// ---- Stream ----

Stream::Stream(std::shared_ptr<StreamCore> core) : core_(std::move(core)) {}

Stream::~Stream() {
  std::unique_lock lock(core_->m);
  bool finished = core_->closed || (core_->finish_requested && core_->fin_in);
  lock.unlock();
  // A stream finished both ways closes by itself (the registry keeps it until then).
  if (!finished) reset();
}

const std::string& Stream::peer() const {
  return core_->peer;
}

Result<std::size_t> Stream::read(std::span<std::uint8_t> buf, std::chrono::milliseconds timeout) {
  std::unique_lock lock(core_->m);
  auto ready = [&] { return core_->in_off < core_->in.size() || core_->fin_in || core_->closed; };
  if (timeout.count() > 0) {
    if (!core_->cv.wait_for(lock, timeout, ready))
      return Err(Errc::kTimeout, "nothing to read from " + core_->peer + " in time");
  } else {
    core_->cv.wait(lock, ready);
  }
  std::size_t avail = core_->in.size() - core_->in_off;
  if (avail == 0) {
    if (core_->fin_in) return std::size_t{0};
    return Err(core_->error ? *core_->error : Error{Errc::kClosed, "the stream was reset"});
  }
  std::size_t n = std::min(avail, buf.size());
  std::copy_n(core_->in.data() + core_->in_off, n, buf.data());
  core_->in_off += n;
  if (core_->in_off == core_->in.size()) {
    core_->in.clear();
    core_->in_off = 0;
  } else if (core_->in_off > api_detail::kStreamBuffer) {
    core_->in.erase(core_->in.begin(),
                    core_->in.begin() + static_cast<std::ptrdiff_t>(core_->in_off));
    core_->in_off = 0;
  }
  if (core_->paused && core_->in.size() - core_->in_off < api_detail::kStreamBuffer / 2 &&
      !core_->resume_posted) {
    core_->paused = false;
    core_->resume_posted = true;
    asio::post(core_->io, [c = core_] { c->resume(); });
  }
  return n;
}

Result<std::size_t> Stream::read_all(std::span<std::uint8_t> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    auto n = read(buf.subspan(got));
    if (!n) return Err(n.error());
    if (*n == 0) break;
    got += *n;
  }
  return got;
}

Result<void> Stream::write(ByteView data) {
  std::unique_lock lock(core_->m);
  if (core_->finish_requested)
    return Err(Errc::kInvalidArgument, "write after finish() on the stream to " + core_->peer);
  while (!data.empty()) {
    core_->cv.wait(lock, [&] {
      return core_->closed || core_->out.size() - core_->out_off < api_detail::kStreamBuffer;
    });
    if (core_->closed)
      return Err(core_->error ? *core_->error : Error{Errc::kClosed, "the stream is closed"});
    std::size_t room = api_detail::kStreamBuffer - (core_->out.size() - core_->out_off);
    std::size_t n = std::min(room, data.size());
    core_->out.insert(core_->out.end(), data.begin(),
                      data.begin() + static_cast<std::ptrdiff_t>(n));
    data = data.subspan(n);
    core_->post_pump();
  }
  return Ok();
}

Result<void> Stream::finish() {
  std::lock_guard lock(core_->m);
  if (core_->closed && core_->error) return Err(*core_->error);
  core_->finish_requested = true;
  core_->post_pump();
  return Ok();
}

Result<void> Stream::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(core_->m);
  if (!core_->cv.wait_for(lock, timeout, [&] { return core_->closed; }))
    return Err(Errc::kTimeout, "the stream to " + core_->peer + " did not finish in time");
  if (core_->error) return Err(*core_->error);
  return Ok();
}

void Stream::reset() {
  asio::post(core_->io, [c = core_] { c->abort("reset by this side"); });
}

// ---- Listener ----

Listener::Listener(std::shared_ptr<ListenerCore> core, std::uint16_t port)
    : core_(std::move(core)), port_(port) {}

Listener::~Listener() = default;

Result<std::unique_ptr<Stream>> Listener::accept(std::chrono::milliseconds timeout) {
  std::unique_lock lock(core_->m);
  auto ready = [&] { return !core_->pending.empty() || core_->closed; };
  if (timeout.count() > 0) {
    if (!core_->cv.wait_for(lock, timeout, ready))
      return Err(Errc::kTimeout, "no stream to port " + std::to_string(port_) + " in time");
  } else {
    core_->cv.wait(lock, ready);
  }
  if (core_->pending.empty()) return Err(Errc::kClosed, "the node stopped");
  auto s = std::move(core_->pending.front());
  core_->pending.pop_front();
  return std::unique_ptr<Stream>(new Stream(std::move(s)));
}

// ---- Node ----

namespace {

Result<void> start_node(Result<daemon::NodeConfig> config, std::shared_ptr<NodeCore>& core) {
  if (!config) return Err(config.error());
  log::set_level(config->log_level);
  core->thread = std::thread([c = core.get()] { c->io.run(); });
  std::promise<Result<void>> started;
  asio::post(core->io, [c = core.get(), cfg = std::move(*config), &started]() mutable {
    auto n = daemon::Node::create(c->io, std::move(cfg));
    if (!n) return started.set_value(Err(n.error()));
    c->node = std::move(*n);
    if (auto r = c->node->start(); !r) {
      c->node->stop();
      c->node.reset();
      return started.set_value(Err(r.error()));
    }
    c->id = c->node->identity().text_id();
    c->address = identity::ipv6_to_string(c->node->identity().address());
    c->port = c->node->port();
    started.set_value(Ok());
  });
  auto r = started.get_future().get();
  if (!r) {
    core->stop();
    return Err(r.error());
  }
  return Ok();
}

}  // namespace

Result<std::unique_ptr<Node>> Node::start_from_file(const std::string& path) {
  auto core = std::make_shared<NodeCore>();
  if (auto r = start_node(daemon::load_config(path), core); !r) return Err(r.error());
  return std::unique_ptr<Node>(new Node(core));
}

Result<std::unique_ptr<Node>> Node::start_from_toml(const std::string& toml,
                                                    const std::string& base_dir) {
  auto core = std::make_shared<NodeCore>();
  if (auto r = start_node(daemon::parse_config(toml, base_dir, "config"), core); !r)
    return Err(r.error());
  return std::unique_ptr<Node>(new Node(core));
}

Node::Node(std::shared_ptr<NodeCore> core) : core_(std::move(core)) {}

Node::~Node() {
  stop();
}

void Node::stop() {
  core_->stop();
}

const std::string& Node::id() const {
  return core_->id;
}
const std::string& Node::address() const {
  return core_->address;
}
std::uint16_t Node::port() const {
  return core_->port;
}

Result<std::unique_ptr<Stream>> Node::dial(const std::string& peer, std::uint16_t port,
                                           std::chrono::milliseconds timeout) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  auto core = c->call<std::shared_ptr<StreamCore>>(
      [c, peer, port, timeout](std::function<void(Result<std::shared_ptr<StreamCore>>)> answer) {
        if (!c->node) return answer(Err(Errc::kClosed, "the node is stopped"));
        c->node->dial(peer, port,
                      std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count(),
                      [c, peer, answer](Result<std::unique_ptr<front::ByteStream>> s) {
                        if (!s) return answer(Err(s.error()));
                        auto sc = std::make_shared<StreamCore>(c->io, peer);
                        sc->attach(std::move(*s), &c->streams);
                        answer(sc);
                      });
      });
  if (!core) return Err(core.error());
  return std::unique_ptr<Stream>(new Stream(std::move(*core)));
}

Result<std::unique_ptr<Listener>> Node::listen(std::uint16_t port) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  auto l = std::make_shared<ListenerCore>();
  auto r = c->call<bool>([c, port, l](std::function<void(Result<bool>)> answer) {
    if (!c->node) return answer(Err(Errc::kClosed, "the node is stopped"));
    std::weak_ptr<ListenerCore> weak = l;
    auto ok = c->node->listen(port, [c, weak](const identity::NodeId& peer,
                                              std::unique_ptr<front::ByteStream> s) {
      auto lc = weak.lock();
      if (!lc) return;  // the Listener is gone: `s` is dropped (reset)
      auto sc = std::make_shared<StreamCore>(c->io, identity::text_id(identity::partial_of(peer)));
      sc->attach(std::move(s), &c->streams);
      std::lock_guard lock(lc->m);
      lc->pending.push_back(std::move(sc));
      lc->cv.notify_all();
    });
    if (!ok) return answer(Err(ok.error()));
    c->listeners[port] = l;
    answer(true);
  });
  if (!r) return Err(r.error());
  return std::unique_ptr<Listener>(new Listener(std::move(l), port));
}

Result<void> Node::send_datagram(const std::string& peer, ByteView data,
                                 std::chrono::milliseconds timeout) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  Bytes copy(data.begin(), data.end());
  auto r = c->call<bool>([c, peer, copy = std::move(copy),
                          timeout](std::function<void(Result<bool>)> answer) mutable {
    if (!c->node) return answer(Err(Errc::kClosed, "the node is stopped"));
    c->node->send_datagram(peer, std::move(copy),
                           std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count(),
                           [answer](Result<void> sent) {
                             if (!sent) return answer(Err(sent.error()));
                             answer(true);
                           });
  });
  if (!r) return Err(r.error());
  return Ok();
}

std::size_t Node::max_datagram(const std::string& peer) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  auto r = c->call<std::size_t>([c, peer](std::function<void(Result<std::size_t>)> answer) {
    if (!c->node) return answer(std::size_t{0});
    auto parsed = identity::parse_peer(peer, c->node->config().identity.suffix);
    if (!parsed) return answer(std::size_t{0});
    answer(c->node->datagram_room(*parsed));
  });
  return r ? *r : 0;
}

void Node::on_datagram(std::function<void(const std::string& peer, ByteView data)> callback) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  asio::post(c->io, [c, callback = std::move(callback)] {
    if (!c->node) return;
    if (!callback) {
      c->node->on_datagram = nullptr;
      return;
    }
    c->node->on_datagram = [callback](const identity::NodeId& peer, ByteView data) {
      callback(identity::text_id(identity::partial_of(peer)), data);
    };
  });
}

void Node::on_event(std::function<void(const Event&)> callback) {
  NodeCore* c = core_.get();  // see NodeCore::call on plain pointers in handlers
  asio::post(c->io, [c, callback = std::move(callback)] {
    if (!c->node) return;
    if (!callback) {
      c->node->on_session_change = nullptr;
      c->node->on_circuit_change = nullptr;
      return;
    }
    c->node->on_session_change = [callback](const daemon::SessionView& v, bool up) {
      callback(Event{up ? Event::Kind::kPeerUp : Event::Kind::kPeerDown, v.peer_text_id, v.remote});
    };
    c->node->on_circuit_change = [callback](const identity::NodeId& remote,
                                            const std::string& detail, bool up) {
      callback(Event{up ? Event::Kind::kCircuitUp : Event::Kind::kCircuitDown,
                     identity::text_id(identity::partial_of(remote)), detail});
    };
  });
}

}  // namespace qc
