// ControlServer: the node's control socket, a Unix stream socket speaking newline-delimited JSON.
//
// Request:  {"cmd": "peers", ...arguments}\n
// Response: {"ok": true, ...result}\n   or   {"ok": false, "error": "what went wrong"}\n
// One connection may carry several requests, answered in order. `qc peers`, `qc routes`,
// `qc circuits` and `qc connect` are clients of it (see control_client.h).
//
// The socket is created mode 0600 (owner only: it controls the node). A stale socket file left
// by a crashed node is replaced; a live one (another node answering) is an error.
//
// Threading rule: single-threaded, on the node's io_context.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"

namespace qc::daemon {

class ControlServer {
 public:
  using Json = nlohmann::json;
  // Called with the reply for a request; may be called later (asynchronous commands), once.
  using Reply = std::function<void(Json result)>;
  using Handler = std::function<void(const Json& request, Reply reply)>;

  ControlServer(asio::io_context& io, std::string path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // `handler` answers {"cmd": name}. Its reply gets "ok": true added unless it sets "ok".
  void handle(const std::string& name, Handler handler);
  Result<void> start();
  void stop();
  const std::string& path() const { return path_; }

  // Maximum request line (bytes); a longer one is answered with an error and the connection
  // closed.
  static constexpr std::size_t kMaxRequest = 64 * 1024;

 private:
  class Connection;
  void accept();
  void dispatch(const std::string& line, Reply reply);

  asio::io_context& io_;
  std::string path_;
  std::unique_ptr<asio::local::stream_protocol::acceptor> acceptor_;
  std::map<std::string, Handler> handlers_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Sends one request to the control socket at `path` and returns the response (a JSON object).
// Blocking, with a timeout; for the CLI. kNotFound when no node listens there (with advice).
Result<nlohmann::json> control_request(const std::string& path, const nlohmann::json& request,
                                       double timeout_seconds = 10);

}  // namespace qc::daemon
