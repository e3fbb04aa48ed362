// Test helpers for the front end (tests only): an io_context on its own thread, blocking
// loopback clients, in-process backends (echo, HTTP-like) and a scriptable Dialer.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "front/dialer.h"
#include "front/memory_pipe.h"
#include "front/splice.h"
#include "front/tcp_byte_stream.h"

namespace qc::front::testing {

// Runs an io_context on a background thread; call() runs a function on it and waits.
class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io)), thread_([this] { io.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io.stop();
    thread_.join();
  }
  template <typename F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }
  // Polls `pred` on the io thread until it holds (or ~20 s pass); returns the last value.
  bool wait_until(const std::function<bool()>& pred) {
    for (int i = 0; i < 2000; ++i) {
      if (call(pred)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  asio::io_context io;

 private:
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A blocking loopback TCP client. Every receive gives up after 20 s so a bug cannot hang a test.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  bool send(ByteView data) {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }
  bool send(std::string_view s) { return send(as_bytes(s)); }
  // Reads exactly n bytes; fewer on EOF, error or timeout.
  Bytes recv_exact(std::size_t n) {
    Bytes out(n);
    std::size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(fd_, out.data() + off, n - off, 0);
      if (r <= 0) break;
      off += static_cast<std::size_t>(r);
    }
    out.resize(off);
    return out;
  }
  // Reads until EOF. `*error` is set when the stream ended with an error (reset) or timeout.
  Bytes recv_all(bool* error = nullptr) {
    Bytes out;
    std::uint8_t buf[65536];
    while (true) {
      ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
      if (r == 0) break;
      if (r < 0) {
        if (error != nullptr) *error = true;
        break;
      }
      out.insert(out.end(), buf, buf + r);
    }
    return out;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Closes with RST.
  void reset() {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Bytes i of a test body: deterministic, not periodic in small strides.
inline std::uint8_t body_byte(std::size_t i) {
  return static_cast<std::uint8_t>((i * 2654435761u) >> 13);
}

// Accepts TCP connections on 127.0.0.1 and hands each socket to `serve` (on the io thread).
class Backend {
 public:
  using Serve = std::function<void(asio::ip::tcp::socket)>;
  Backend(asio::io_context& io, Serve serve)
      : acceptor_(io, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        serve_(std::move(serve)) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void close() { acceptor_.close(); }

 private:
  void accept() {
    acceptor_.async_accept([this](const std::error_code& ec, asio::ip::tcp::socket s) {
      if (ec) return;
      serve_(std::move(s));
      accept();
    });
  }
  asio::ip::tcp::acceptor acceptor_;
  Serve serve_;
};

// Echo: returns every byte; on the client's FIN, finishes echoing and sends FIN.
void serve_echo(asio::ip::tcp::socket socket);
// HTTP-like: reads a request head "GET /bytes/N ...\r\n\r\n", answers 200 with N body bytes
// (body_byte(0..N)) and closes; 404 for other paths.
void serve_http(asio::ip::tcp::socket socket);

// A Dialer whose behaviour the test scripts. By default, port P of any mesh destination is
// connected to 127.0.0.1:`ports[P]` through a MemoryPipe, as a channel stream would be.
class ScriptedDialer final : public Dialer {
 public:
  explicit ScriptedDialer(asio::io_context& io) : io_(io) {}
  ~ScriptedDialer() override;

  std::map<std::uint16_t, std::uint16_t> ports;
  std::map<std::uint16_t, Error> errors;  // port -> dial fails with this
  // Port -> the dialer hands the server one pipe end and calls this with the other.
  std::map<std::uint16_t, std::function<void(std::unique_ptr<ByteStream>)>> pipes;
  std::size_t pipe_capacity = 64 * 1024;
  std::uint16_t never_answer_port = 0;  // a dial that never calls back
  std::size_t dials = 0;
  std::list<Destination> seen;

  void dial(const Destination& destination, Callback callback) override;
  std::size_t live_splices() const { return splices_.size(); }

 private:
  asio::io_context& io_;
  std::map<std::uint64_t, std::unique_ptr<Splice>> splices_;
  std::uint64_t next_ = 1;
  std::list<Callback> parked_;
};

}  // namespace qc::front::testing
