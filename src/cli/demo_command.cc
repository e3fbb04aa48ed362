// qc demo: a throwaway cluster on loopback. Makes a CA and three nodes (alpha and beta know only
// relay), starts them, each on its own event loop and thread, shows the sessions come up, and
// stops them. No root needed. alpha also runs a SOCKS5 proxy and beta exposes a small web
// service; the demo fetches it from alpha through the mesh and checks what arrived.
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include "cli/commands.h"

#include "common/log.h"
#include "daemon/config.h"
#include "daemon/node.h"
#include "identity/cert_tool.h"
#include "identity/identity.h"

namespace qc::cli {

namespace {

namespace fs = std::filesystem;

struct DemoOptions {
  std::string dir;
  bool keep = false;
  bool stay = false;
  double timeout = 20;
  std::string log_level = "warn";
};

// One node on its own thread and io_context.
class DemoNode {
 public:
  DemoNode(std::string name, daemon::NodeConfig config)
      : name_(std::move(name)), config_(std::move(config)) {}
  ~DemoNode() { stop(); }

  // Starts the node's thread; returns once the node listens (or failed).
  Result<void> start(
      std::function<void(const std::string&, const daemon::SessionView&, bool)> on_change) {
    std::promise<Result<void>> started;
    auto fut = started.get_future();
    thread_ = std::thread([this, &started, on_change] {
      auto node = daemon::Node::create(io_, config_);
      if (!node) {
        started.set_value(Err(node.error()));
        return;
      }
      node_ = std::move(*node);
      node_->on_session_change = [this, on_change](const daemon::SessionView& v, bool up) {
        on_change(name_, v, up);
      };
      if (auto r = node_->start(); !r) {
        started.set_value(Err(r.error()));
        node_.reset();
        return;
      }
      port_ = node_->port();
      text_id_ = node_->identity().text_id();
      address_ = identity::ipv6_to_string(node_->identity().address());
      started.set_value(Ok());
      auto guard = asio::make_work_guard(io_);
      io_.run();
      node_.reset();
    });
    auto r = fut.get();
    if (!r && thread_.joinable()) thread_.join();
    return r;
  }

  std::vector<daemon::SessionView> sessions() {
    std::promise<std::vector<daemon::SessionView>> p;
    auto f = p.get_future();
    asio::post(
        io_, [&] { p.set_value(node_ ? node_->sessions() : std::vector<daemon::SessionView>{}); });
    return f.get();
  }

  // Asks this node for a circuit to `peer`; blocks until it is established or fails.
  Result<daemon::CircuitView> connect(const std::string& peer, double timeout_s) {
    std::promise<Result<daemon::CircuitView>> p;
    auto f = p.get_future();
    asio::post(io_, [&] {
      if (!node_) {
        p.set_value(Err(Errc::kClosed, "node not running"));
        return;
      }
      node_->connect(peer, static_cast<Duration>(timeout_s * 1e9),
                     [&p](Result<daemon::CircuitView> r) { p.set_value(std::move(r)); });
    });
    return f.get();
  }

  std::optional<std::pair<std::string, std::uint16_t>> socks_endpoint() {
    std::promise<std::optional<std::pair<std::string, std::uint16_t>>> p;
    auto f = p.get_future();
    asio::post(io_, [&] { p.set_value(node_ ? node_->socks_endpoint() : std::nullopt); });
    return f.get();
  }

  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      if (node_) node_->stop();
      io_.stop();
    });
    thread_.join();
  }

  const std::string& name() const { return name_; }
  std::uint16_t port() const { return port_; }
  const std::string& text_id() const { return text_id_; }
  const std::string& address() const { return address_; }

 private:
  std::string name_;
  daemon::NodeConfig config_;
  asio::io_context io_{1};
  std::unique_ptr<daemon::Node> node_;
  std::thread thread_;
  std::uint16_t port_ = 0;
  std::string text_id_, address_;
};

// The demo's "web service" on beta: a tiny HTTP/1.0 server on 127.0.0.1 (any free port) that
// answers GET / with a greeting and GET /big with kBigBytes of deterministic bytes.
constexpr std::size_t kBigBytes = 64u << 20;

Bytes big_body() {
  Bytes b(kBigBytes);
  std::uint32_t x = 2463534242u;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<std::uint8_t>(x);
  }
  return b;
}

class DemoWebService {
 public:
  DemoWebService() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), body_(big_body()) {
    thread_ = std::thread([this] { run(); });
  }
  ~DemoWebService() {
    asio::post(io_, [this] {
      std::error_code ec;
      acceptor_.close(ec);
    });
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const Bytes& body() const { return body_; }

 private:
  void run() {
    accept();
    io_.run();
  }
  void accept() {
    acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket sock) {
      if (ec) return;
      // One request per connection, served on its own thread (blocking I/O keeps it short).
      std::thread([this, s = std::move(sock)]() mutable { serve(std::move(s)); }).detach();
      accept();
    });
  }
  void serve(asio::ip::tcp::socket s) {
    std::error_code ec;
    asio::streambuf req;
    asio::read_until(s, req, "\r\n\r\n", ec);
    if (ec) return;
    std::string line(asio::buffers_begin(req.data()), asio::buffers_end(req.data()));
    bool big = line.rfind("GET /big ", 0) == 0;
    std::string hello = "hello from beta, through the mesh\n";
    std::size_t len = big ? body_.size() : hello.size();
    std::string head = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(len) +
                       "\r\nContent-Type: application/octet-stream\r\n\r\n";
    asio::write(s, asio::buffer(head), ec);
    if (!ec) asio::write(s, big ? asio::buffer(body_) : asio::buffer(hello), ec);
    s.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  Bytes body_;
  std::thread thread_;
};

// What `curl --socks5-hostname` does, in a few lines: SOCKS5 CONNECT to host:port by name
// through the proxy, then HTTP GET `path`; returns the response body.
Result<Bytes> fetch_via_socks(std::uint16_t proxy_port, const std::string& host, std::uint16_t port,
                              const std::string& path) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  std::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), proxy_port}, ec);
  if (ec) return Err(Errc::kIo, "connect to the SOCKS5 proxy: " + ec.message());
  std::uint8_t greet[] = {5, 1, 0};
  asio::write(s, asio::buffer(greet), ec);
  std::uint8_t choice[2];
  asio::read(s, asio::buffer(choice), ec);
  if (ec || choice[0] != 5 || choice[1] != 0)
    return Err(Errc::kProtocol, "SOCKS5 greeting refused");
  Bytes req = {5, 1, 0, 3, static_cast<std::uint8_t>(host.size())};
  req.insert(req.end(), host.begin(), host.end());
  req.push_back(static_cast<std::uint8_t>(port >> 8));
  req.push_back(static_cast<std::uint8_t>(port & 0xff));
  asio::write(s, asio::buffer(req), ec);
  std::uint8_t rep[4];
  asio::read(s, asio::buffer(rep), ec);
  if (ec) return Err(Errc::kIo, "SOCKS5 reply: " + ec.message());
  if (rep[1] != 0)
    return Err(Errc::kIo, "SOCKS5 CONNECT refused with reply " + std::to_string(rep[1]));
  std::size_t addr_len = rep[3] == 1 ? 4 : rep[3] == 4 ? 16 : 0;
  if (rep[3] == 3) {
    std::uint8_t l;
    asio::read(s, asio::buffer(&l, 1), ec);
    addr_len = l;
  }
  Bytes rest(addr_len + 2);
  asio::read(s, asio::buffer(rest), ec);
  std::string get = "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
  asio::write(s, asio::buffer(get), ec);
  Bytes all;
  std::array<std::uint8_t, 1 << 16> buf;
  for (;;) {
    std::size_t n = s.read_some(asio::buffer(buf), ec);
    all.insert(all.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    if (ec) break;
  }
  if (ec != asio::error::eof) return Err(Errc::kIo, "HTTP response: " + ec.message());
  static const std::string kSep = "\r\n\r\n";
  auto it = std::search(all.begin(), all.end(), kSep.begin(), kSep.end());
  if (it == all.end()) return Err(Errc::kProtocol, "no HTTP header in the response");
  return Bytes(it + 4, all.end());
}

daemon::NodeConfig node_config(const std::string& name, const identity::IdentityFiles& files,
                               const std::string& dir, const std::string& level) {
  daemon::NodeConfig c;
  c.name = name;
  c.log_level = level;
  c.data_dir = dir;
  c.identity.ca = files.ca;
  c.identity.cert = files.cert;
  c.identity.key = files.key;
  c.listen.address = "127.0.0.1";
  c.listen.port = 0;
  c.session.redial_min = 0.2;
  c.session.redial_max = 5;
  c.discovery.enabled = false;  // loopback only: no beacons on the host's real interfaces
  return c;
}

int run_demo(const DemoOptions& o) {
  std::string dir = o.dir;
  bool remove_dir = false;
  if (dir.empty()) {
    char tmpl[] = "/tmp/qc-demo.XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("qc demo: cannot create a temporary directory");
      return 1;
    }
    dir = tmpl;
    remove_dir = !o.keep;
  }
  log::set_level(o.log_level);
  std::printf("quic-channel demo: a throwaway cluster on loopback in %s\n\n", dir.c_str());

  std::printf("1. a cluster CA and three node certificates (qc cert ca / qc cert sign)\n");
  auto ca = identity::make_ca({.name = "qc demo CA", .days = 30});
  if (!ca) {
    std::fprintf(stderr, "qc demo: %s\n", ca.error().to_string().c_str());
    return 1;
  }
  if (auto r = identity::write_ca_files(dir + "/ca", *ca, true); !r) {
    std::fprintf(stderr, "qc demo: %s\n", r.error().to_string().c_str());
    return 1;
  }
  const char* names[] = {"relay", "alpha", "beta"};
  std::map<std::string, identity::IdentityFiles> files;
  for (const char* n : names) {
    auto f = identity::make_node_files(dir + "/" + n, *ca, n, true);
    if (!f) {
      std::fprintf(stderr, "qc demo: %s\n", f.error().to_string().c_str());
      return 1;
    }
    files[n] = *f;
  }

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::set<std::string>> up;  // node name -> peer text ids up
  auto on_change = [&](const std::string& node, const daemon::SessionView& v, bool is_up) {
    std::lock_guard lock(mu);
    if (is_up)
      up[node].insert(v.peer_text_id);
    else
      up[node].erase(v.peer_text_id);
    cv.notify_all();
  };

  std::printf(
      "2. three nodes on 127.0.0.1; alpha and beta know only relay (configs: %s/*/node.toml)\n",
      dir.c_str());
  std::vector<std::unique_ptr<DemoNode>> nodes;
  std::uint16_t relay_port = 0;
  DemoWebService web;
  for (const char* n : names) {
    auto cfg = node_config(n, files[n], dir + "/" + n, o.log_level);
    // alpha runs a SOCKS5 proxy for local programs; beta exposes its web service as port 8080.
    if (std::string(n) == "alpha") cfg.socks.listen = daemon::HostPort{"127.0.0.1", 0};
    if (std::string(n) == "beta") cfg.expose = {"8080=127.0.0.1:" + std::to_string(web.port())};
    if (relay_port) cfg.static_peers.push_back({"127.0.0.1", relay_port});
    auto node = std::make_unique<DemoNode>(n, cfg);
    if (auto r = node->start(on_change); !r) {
      std::fprintf(stderr, "qc demo: node %s: %s\n", n, r.error().to_string().c_str());
      return 1;
    }
    cfg.listen.port = node->port();
    (void)identity::write_text_file(dir + "/" + n + "/node.toml", daemon::to_toml(cfg), 0644, true);
    if (!relay_port) relay_port = node->port();
    std::printf("   %-5s %s  %-38s udp 127.0.0.1:%u\n", n, node->text_id().c_str(),
                node->address().c_str(), node->port());
    if (auto ep = node->socks_endpoint()) {
      std::printf("         SOCKS5 proxy for local programs on 127.0.0.1:%u\n", ep->second);
    }
    if (std::string(n) == "beta")
      std::printf("         exposes mesh port 8080 -> its web service on 127.0.0.1:%u\n",
                  web.port());
    nodes.push_back(std::move(node));
  }

  std::printf("3. waiting for the QUIC neighbour sessions (mutual TLS against the demo CA)\n");
  bool ok;
  {
    std::unique_lock lock(mu);
    ok = cv.wait_for(lock, std::chrono::duration<double>(o.timeout), [&] {
      return up["relay"].size() == 2 && up["alpha"].size() == 1 && up["beta"].size() == 1;
    });
  }
  if (ok) {
    std::printf("\n   node   sessions (peer, remote, rtt)\n");
    for (auto& n : nodes) {
      for (auto& s : n->sessions())
        std::printf("   %-5s  %s  %-16s %.3f ms\n", n->name().c_str(), s.peer_text_id.c_str(),
                    s.remote.c_str(), s.rtt_ms);
    }
    std::printf("\nall sessions up.\n");
    std::printf(
        "\n4. alpha asks for beta (qc connect): route probes flood the mesh, each hop signs;\n"
        "   beta answers along the reverse path and every hop sets up the circuit\n");
    auto t0 = std::chrono::steady_clock::now();
    auto c = nodes[1]->connect(nodes[2]->text_id(), o.timeout);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (c) {
      std::string path;
      for (const auto& p : c->path) {
        std::string id = p.get<std::string>();
        std::string name = id;
        for (auto& n : nodes)
          if (n->text_id() == id) name = n->name();
        path += (path.empty() ? "" : " -> ") + name + " (" + id + ")";
      }
      std::printf("   circuit %016llx established in %.1f ms: %s\n",
                  static_cast<unsigned long long>(c->id), ms, path.c_str());
    } else {
      std::fprintf(stderr, "qc demo: no circuit from alpha to beta: %s\n",
                   c.error().message.c_str());
      ok = false;
    }
    if (ok) {
      auto proxy = nodes[1]->socks_endpoint();
      std::string host = nodes[2]->text_id() + ".fuse";
      std::printf(
          "\n5. a program on alpha fetches http://%s:8080/ through alpha's SOCKS5 proxy\n"
          "   (as `curl --socks5-hostname 127.0.0.1:%u http://%s:8080/big` would): one stream\n"
          "   of the end-to-end encrypted channel alpha <-> beta, over the circuit via relay\n",
          host.c_str(), proxy ? proxy->second : 0, host.c_str());
      auto hello = proxy ? fetch_via_socks(proxy->second, host, 8080, "/")
                         : Result<Bytes>(Err(Errc::kClosed, "alpha has no SOCKS5 proxy"));
      if (!hello) {
        std::fprintf(stderr, "qc demo: fetch through the mesh failed: %s\n",
                     hello.error().message.c_str());
        ok = false;
      } else {
        std::printf("   GET /     -> %s", std::string(hello->begin(), hello->end()).c_str());
        auto t1 = std::chrono::steady_clock::now();
        auto big = fetch_via_socks(proxy->second, host, 8080, "/big");
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
        if (!big) {
          std::fprintf(stderr, "qc demo: fetch of /big failed: %s\n", big.error().message.c_str());
          ok = false;
        } else {
          bool same = *big == web.body();
          std::printf("   GET /big  -> %zu bytes in %.2f s (%.0f MB/s), %s\n", big->size(), secs,
                      static_cast<double>(big->size()) / secs / 1e6,
                      same ? "identical to what beta served" : "DIFFERENT from what beta served");
          if (!same) ok = false;
        }
      }
    }
  } else {
    std::fprintf(stderr,
                 "\nqc demo: the sessions did not all come up within %.0f s "
                 "(run with --log-level debug to see why)\n",
                 o.timeout);
  }
  if (ok && o.stay) {
    std::printf("running until Ctrl-C (configs in %s)\n", dir.c_str());
    asio::io_context sio;
    asio::signal_set sig(sio, SIGINT, SIGTERM);
    sig.async_wait([](const std::error_code&, int) {});
    sio.run();
  }
  std::printf("6. stopping the nodes\n");
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) (*it)->stop();
  if (remove_dir) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    std::printf("files kept in %s\n", dir.c_str());
  }
  return ok ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& root, int* exit_code) {
  auto* cmd =
      root.add_subcommand("demo", "Run a throwaway demo cluster on loopback (no root needed)");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--dir", o->dir, "Keep the CA, certificates and configs in this directory");
  cmd->add_flag("--keep", o->keep, "Do not delete the temporary directory at the end");
  cmd->add_flag("--stay", o->stay, "Keep the nodes running until Ctrl-C");
  cmd->add_option("--timeout", o->timeout, "Seconds to wait for the sessions (default 20)");
  cmd->add_option("--log-level", o->log_level, "Node log level (default warn)");
  cmd->callback([o, exit_code] { *exit_code = run_demo(*o); });
}

}  // namespace qc::cli
