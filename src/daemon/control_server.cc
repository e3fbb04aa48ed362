#include "daemon/control_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/log.h"

namespace qc::daemon {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  return log::get("control");
}

// True when something accepts connections at `path`.
bool socket_alive(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  bool alive = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return alive;
}
}  // namespace

class ControlServer::Connection : public std::enable_shared_from_this<ControlServer::Connection> {
 public:
  Connection(ControlServer& server, asio::local::stream_protocol::socket socket)
      : server_(server), socket_(std::move(socket)), alive_(server.alive_) {}

  void read() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, asio::dynamic_buffer(in_, kMaxRequest), '\n',
                           [this, self](const std::error_code& ec, std::size_t n) {
                             if (!*alive_) return;
                             if (ec == asio::error::not_found) {
                               send({{"ok", false}, {"error", "request too long"}}, true);
                               return;
                             }
                             if (ec) return;
                             std::string line = in_.substr(0, n - 1);
                             in_.erase(0, n);
                             server_.dispatch(line, [this, self](Json r) {
                               if (!*alive_) return;
                               send(std::move(r), false);
                               read();
                             });
                           });
  }

 private:
  void send(Json r, bool close_after) {
    auto self = shared_from_this();
    auto out = std::make_shared<std::string>(
        r.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
    asio::async_write(socket_, asio::buffer(*out),
                      [self, out, close_after](const std::error_code&, std::size_t) {
                        if (close_after) {
                          std::error_code ignored;
                          self->socket_.close(ignored);
                        }
                      });
  }

  ControlServer& server_;
  asio::local::stream_protocol::socket socket_;
  std::shared_ptr<bool> alive_;
  std::string in_;
};

ControlServer::ControlServer(asio::io_context& io, std::string path)
    : io_(io), path_(std::move(path)) {}

ControlServer::~ControlServer() {
  stop();
}

void ControlServer::handle(const std::string& name, Handler handler) {
  handlers_[name] = std::move(handler);
}

Result<void> ControlServer::start() {
  if (path_.size() >= sizeof(sockaddr_un::sun_path))
    return Err(Errc::kInvalidArgument,
               "control socket path '" + path_ +
                   "' is too long for a Unix socket; use a shorter data_dir");
  std::error_code ec;
  if (std::filesystem::exists(path_, ec)) {
    if (socket_alive(path_))
      return Err(Errc::kExists, "another node already answers on the control socket '" + path_ +
                                    "'; give each node its own data_dir");
    std::filesystem::remove(path_, ec);  // stale, from a node that crashed
  }
  try {
    acceptor_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
    asio::local::stream_protocol::endpoint ep(path_);
    acceptor_->open(ep.protocol());
    mode_t old = ::umask(0177);
    acceptor_->bind(ep, ec);
    ::umask(old);
    if (ec) {
      acceptor_.reset();
      return Err(Errc::kIo, "cannot create the control socket '" + path_ + "': " + ec.message());
    }
    acceptor_->listen();
  } catch (const std::system_error& e) {
    acceptor_.reset();
    return Err(Errc::kIo, "control socket '" + path_ + "': " + e.what());
  }
  accept();
  return Ok();
}

void ControlServer::stop() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  if (acceptor_) {
    std::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
    std::filesystem::remove(path_, ec);
  }
}

void ControlServer::accept() {
  auto alive = alive_;
  acceptor_->async_accept(
      [this, alive](const std::error_code& ec, asio::local::stream_protocol::socket s) {
        if (!*alive || !acceptor_) return;
        if (!ec) std::make_shared<Connection>(*this, std::move(s))->read();
        accept();
      });
}

void ControlServer::dispatch(const std::string& line, Reply reply) {
  Json req = Json::parse(line, nullptr, false);
  if (req.is_discarded() || !req.is_object() || !req.contains("cmd") || !req["cmd"].is_string()) {
    reply({{"ok", false}, {"error", "a request is one JSON object with a string \"cmd\""}});
    return;
  }
  std::string cmd = req["cmd"];
  auto it = handlers_.find(cmd);
  if (it == handlers_.end()) {
    std::string known;
    for (auto& [k, v] : handlers_) known += (known.empty() ? "" : ", ") + k;
    reply({{"ok", false}, {"error", "unknown command '" + cmd + "' (known: " + known + ")"}});
    return;
  }
  logger()->debug("control: {}", cmd);
  // A request with a field of the wrong type makes nlohmann::json throw; that is the client's
  // error, answered as such, never a reason for the node to stop.
  try {
    it->second(req, [reply](Json r) {
      if (!r.is_object()) r = Json{{"result", std::move(r)}};
      if (!r.contains("ok")) r["ok"] = true;
      reply(std::move(r));
    });
  } catch (const nlohmann::json::exception& e) {
    reply({{"ok", false}, {"error", std::string("bad request for '") + cmd + "': " + e.what()}});
  }
}

Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       double timeout_seconds) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(Errc::kIo, std::string("socket: ") + std::strerror(errno));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int e = errno;
    ::close(fd);
    return Err(Errc::kNotFound,
               "no node answers on '" + path + "' (" + std::strerror(e) +
                   "); is `qc node` running? point to it with --config or --socket");
  }
  std::string out = request.dump() + "\n";
  std::size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return Err(Errc::kIo, std::string("control socket write: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[4096];
  int waited_ms = 0;
  const int limit_ms = static_cast<int>(timeout_seconds * 1000);
  while (in.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r == 0) {
      waited_ms += 100;
      if (waited_ms >= limit_ms) {
        ::close(fd);
        return Err(Errc::kTimeout, "the node did not answer within " +
                                       std::to_string(static_cast<int>(timeout_seconds)) + " s");
      }
      continue;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return Err(Errc::kIo, "the node closed the control connection without an answer");
    }
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() > (16u << 20)) break;
  }
  ::close(fd);
  auto j = nlohmann::json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Err(Errc::kProtocol, "the node sent an unreadable answer");
  return j;
}

}  // namespace qc::daemon
