#include "front/test_support.h"

#include <asio/read_until.hpp>
#include <asio/streambuf.hpp>
#include <asio/write.hpp>

#include <istream>

namespace qc::front::testing {
namespace {

struct EchoSession : std::enable_shared_from_this<EchoSession> {
  explicit EchoSession(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  void read() {
    socket.async_read_some(asio::buffer(buf),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                             if (ec == asio::error::eof) {
                               std::error_code ignored;
                               self->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                               return;
                             }
                             if (ec) return;
                             asio::async_write(self->socket, asio::buffer(self->buf.data(), n),
                                               [self](const std::error_code& wec, std::size_t) {
                                                 if (!wec) self->read();
                                               });
                           });
  }
  asio::ip::tcp::socket socket;
  std::array<std::uint8_t, 16384> buf{};
};

struct HttpSession : std::enable_shared_from_this<HttpSession> {
  explicit HttpSession(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  void start() {
    asio::async_read_until(
        socket, head, "\r\n\r\n",
        [self = shared_from_this()](const std::error_code& ec, std::size_t) {
          if (ec) return;
          std::istream in(&self->head);
          std::string method, path;
          in >> method >> path;
          std::string status = "200 OK";
          std::size_t n = 0;
          if (path.rfind("/bytes/", 0) == 0) {
            n = std::stoul(path.substr(7));
          } else {
            status = "404 Not Found";
          }
          std::string h = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(n) +
                          "\r\nConnection: close\r\n\r\n";
          self->out.assign(h.begin(), h.end());
          for (std::size_t i = 0; i < n; ++i) self->out.push_back(body_byte(i));
          asio::async_write(self->socket, asio::buffer(self->out),
                            [self](const std::error_code&, std::size_t) {
                              std::error_code ignored;
                              self->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                              self->drain();
                            });
        });
  }
  // Reads until the client closes, then closes (so the close is orderly).
  void drain() {
    socket.async_read_some(asio::buffer(buf),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                             if (!ec) self->drain();
                           });
  }
  asio::ip::tcp::socket socket;
  asio::streambuf head;
  Bytes out;
  std::array<std::uint8_t, 4096> buf{};
};

}  // namespace

void serve_echo(asio::ip::tcp::socket socket) {
  std::make_shared<EchoSession>(std::move(socket))->read();
}

void serve_http(asio::ip::tcp::socket socket) {
  std::make_shared<HttpSession>(std::move(socket))->start();
}

ScriptedDialer::~ScriptedDialer() = default;

void ScriptedDialer::dial(const Destination& destination, Callback callback) {
  ++dials;
  seen.push_back(destination);
  std::uint16_t port = destination.port();
  if (port == never_answer_port) {
    parked_.push_back(std::move(callback));
    return;
  }
  if (auto e = errors.find(port); e != errors.end()) {
    asio::post(io_, [callback, error = e->second] { callback(Err(error)); });
    return;
  }
  if (auto p = pipes.find(port); p != pipes.end()) {
    auto pipe = make_memory_pipe(io_, pipe_capacity);
    p->second(std::move(pipe.b));
    auto a = std::make_shared<std::unique_ptr<ByteStream>>(std::move(pipe.a));
    asio::post(io_, [callback, a] { callback(std::move(*a)); });
    return;
  }
  auto target = ports.find(port);
  if (target == ports.end()) {
    asio::post(io_, [callback] { callback(Err(Errc::kClosed, "nothing listens there")); });
    return;
  }
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  socket->async_connect(
      asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), target->second),
      [this, socket, callback](const std::error_code& ec) {
        if (ec) return callback(Err(Errc::kIo, ec.message()));
        auto pipe = make_memory_pipe(io_, pipe_capacity);
        std::uint64_t id = next_++;
        splices_.emplace(
            id, std::make_unique<Splice>(
                    std::make_unique<TcpByteStream>(std::move(*socket)), std::move(pipe.b),
                    [this, id](Result<void>) {
                      // Destroy later: we are inside the splice's callback.
                      auto node = splices_.extract(id);
                      asio::post(io_, [s = std::shared_ptr<Splice>(std::move(node.mapped()))] {});
                    }));
        callback(std::move(pipe.a));
      });
}

}  // namespace qc::front::testing
