#include "front/socks5_server.h"

#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "common/log.h"
#include "front/splice.h"

namespace qc::front {
namespace {

constexpr std::size_t kLingerBytes = 64 * 1024;
constexpr std::chrono::seconds kLingerTime{2};

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("front");
  return l;
}

}  // namespace

// One client, from accept to the end of its splice. Owned by the server's map; asynchronous
// operations hold a shared_ptr, the dial callback a weak_ptr.
class Socks5Server::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Socks5Server& server, asio::ip::tcp::socket socket, std::uint64_t id)
      : server_(&server),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        handshake_(server.options_.auth),
        id_(id) {}

  void start() {
    arm_timer(server_->options_.handshake_timeout);
    read_handshake();
  }

  std::size_t buffered() const {
    if (splice_) return client_buffered();
    return read_buf_.size() * (reading_ ? 0 : 1) + reply_.size();
  }

  // Server going away: reset everything, no callbacks to the server afterwards.
  void abort() {
    server_ = nullptr;
    timer_.cancel();
    if (splice_) {
      splice_->reset();
    } else {
      std::error_code ignored;
      socket_.close(ignored);
    }
  }

 private:
  enum class Phase { kHandshake, kDialing, kReplying, kSpliced, kDone };

  std::size_t client_buffered() const { return client_ != nullptr ? client_->buffered() : 0; }

  void arm_timer(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->server_ == nullptr) return;
      self->on_timeout();
    });
  }

  void on_timeout() {
    if (phase_ == Phase::kHandshake) {
      logger()->debug("socks client {}: handshake timed out", id_);
      finish();
      close_now();  // a read is pending: no lingering read beside it
    } else if (phase_ == Phase::kDialing) {
      logger()->debug("socks client {}: dial to {} timed out", id_, target_);
      refuse(socks5::ReplyCode::kTtlExpired);
    }
  }

  void read_handshake() {
    reading_ = true;
    read_buf_.resize(4096);
    socket_.async_read_some(asio::buffer(read_buf_),
                            [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                              self->reading_ = false;
                              if (self->server_ == nullptr || self->phase_ != Phase::kHandshake)
                                return;
                              if (ec) {
                                // EOF or reset in the middle of the handshake: nothing to answer.
                                return self->close();
                              }
                              self->on_handshake_bytes(ByteView(self->read_buf_.data(), n));
                            });
  }

  void on_handshake_bytes(ByteView data) {
    auto progress = handshake_.feed(data);
    read_buf_.clear();
    switch (progress.status) {
      case socks5::ServerHandshake::Status::kNeedMore:
        if (progress.output.empty()) return read_handshake();
        return send(std::move(progress.output), [](Connection& c) { c.read_handshake(); });
      case socks5::ServerHandshake::Status::kClose:
        logger()->debug("socks client {}: {}", id_, handshake_.close_reason());
        return send(std::move(progress.output), [](Connection& c) { c.close(); });
      case socks5::ServerHandshake::Status::kRequestReady:
        if (progress.output.empty()) return on_request();
        return send(std::move(progress.output), [](Connection& c) { c.on_request(); });
    }
  }

  // Writes `bytes` to the client, then runs `next` (unless the connection ended meanwhile).
  template <typename Next>
  void send(Bytes bytes, Next next) {
    reply_ = std::move(bytes);
    if (reply_.empty()) return next(*this);
    asio::async_write(socket_, asio::buffer(reply_),
                      [self = shared_from_this(), next](const std::error_code& ec, std::size_t) {
                        self->reply_.clear();
                        if (self->server_ == nullptr || self->phase_ == Phase::kDone) return;
                        if (ec) return self->close();
                        next(*self);
                      });
  }

  void on_request() {
    const socks5::Request& request = handshake_.request();
    target_ = request.destination.to_string();
    auto destination = classify(request.destination, server_->options_.destinations);
    if (!destination) {
      logger()->debug("socks client {}: {}: {}", id_, target_, destination.error().message);
      return refuse(reply_for_dial_error(destination.error()));
    }
    phase_ = Phase::kDialing;
    arm_timer(server_->options_.dial_timeout);
    std::weak_ptr<Connection> weak = shared_from_this();
    server_->dialer_.dial(*destination, [weak](Result<std::unique_ptr<ByteStream>> stream) {
      auto self = weak.lock();
      if (!self || self->server_ == nullptr || self->phase_ != Phase::kDialing) return;
      self->on_dialed(std::move(stream));
    });
  }

  void on_dialed(Result<std::unique_ptr<ByteStream>> stream) {
    timer_.cancel();
    if (!stream) {
      logger()->debug("socks client {}: {}: {}", id_, target_, stream.error().to_string());
      return refuse(reply_for_dial_error(stream.error()));
    }
    phase_ = Phase::kReplying;
    remote_ = std::move(*stream);
    send(socks5::encode_reply(socks5::ReplyCode::kSucceeded), [](Connection& c) { c.splice(); });
  }

  void splice() {
    phase_ = Phase::kSpliced;
    auto client = std::make_unique<TcpByteStream>(
        std::move(socket_), server_->options_.client_stream, handshake_.take_early_data());
    client_ = client.get();
    std::weak_ptr<Connection> weak = shared_from_this();
    splice_ = std::make_unique<Splice>(
        std::move(client), std::move(remote_), [weak](Result<void> outcome) {
          auto self = weak.lock();
          if (!self) return;
          if (!outcome) {
            logger()->debug("socks client {}: {}", self->id_, outcome.error().to_string());
          }
          self->finish();
        });
  }

  void refuse(socks5::ReplyCode code) {
    phase_ = Phase::kReplying;
    logger()->debug("socks client {}: {} -> {}", id_, target_, socks5::reply_code_name(code));
    send(socks5::encode_reply(code), [](Connection& c) { c.close(); });
  }

  // Ends a connection that never reached the splice: FIN after our last reply, then read and
  // drop what the client still sends (at most kLingerBytes, for at most kLingerTime) before
  // closing, so that closing with unread input (which sends RST) cannot destroy the reply
  // before the client has read it.
  void close() {
    std::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    finish();
    timer_.expires_after(kLingerTime);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->close_now();
    });
    linger();
  }

  void linger() {
    if (lingered_ >= kLingerBytes) return close_now();
    read_buf_.resize(4096);
    socket_.async_read_some(asio::buffer(read_buf_),
                            [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                              if (ec) return self->close_now();
                              self->lingered_ += n;
                              self->linger();
                            });
  }

  void close_now() {
    timer_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
  }

  void finish() {
    if (phase_ == Phase::kDone) return;
    phase_ = Phase::kDone;
    timer_.cancel();
    remote_.reset();
    client_ = nullptr;
    if (server_ != nullptr) {
      // Keep this object alive until the splice's callback (which may be running) returns.
      auto self = shared_from_this();
      std::unique_ptr<Splice> splice = std::move(splice_);
      asio::post(timer_.get_executor(), [self, s = std::shared_ptr<Splice>(std::move(splice))] {});
      server_->remove(id_);
    }
  }

  Socks5Server* server_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  socks5::ServerHandshake handshake_;
  std::uint64_t id_;
  Phase phase_ = Phase::kHandshake;
  Bytes read_buf_;
  bool reading_ = false;
  Bytes reply_;
  std::string target_;
  std::unique_ptr<ByteStream> remote_;  // dialed, not yet spliced
  std::unique_ptr<Splice> splice_;
  TcpByteStream* client_ = nullptr;  // owned by splice_
  std::size_t lingered_ = 0;
};

Socks5Server::Socks5Server(asio::io_context& io, Socks5ServerOptions options, Dialer& dialer)
    : options_(std::move(options)), dialer_(dialer), acceptor_(io) {}

Result<std::unique_ptr<Socks5Server>> Socks5Server::start(asio::io_context& io,
                                                          Socks5ServerOptions options,
                                                          Dialer& dialer) {
  std::error_code ec;
  auto address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return Err(Errc::kInvalidArgument,
               "socks5: listen address '" + options.address + "' is not an IP address");
  }
  asio::ip::tcp::endpoint endpoint(address, options.port);
  std::unique_ptr<Socks5Server> server(new Socks5Server(io, std::move(options), dialer));
  auto& acc = server->acceptor_;
  if (acc.open(endpoint.protocol(), ec); !ec) {
    acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc.bind(endpoint, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Err(Errc::kIo, "socks5: cannot listen on " + endpoint.address().to_string() + ":" +
                              std::to_string(endpoint.port()) + ": " + ec.message());
  }
  logger()->info("socks5 proxy listening on {}:{}", acc.local_endpoint().address().to_string(),
                 acc.local_endpoint().port());
  server->accept();
  return server;
}

Socks5Server::~Socks5Server() {
  *alive_ = false;
  stop();
}

asio::ip::tcp::endpoint Socks5Server::local_endpoint() const {
  std::error_code ec;
  return acceptor_.local_endpoint(ec);
}

std::size_t Socks5Server::buffered_bytes() const {
  std::size_t total = 0;
  for (const auto& [id, c] : connections_) total += c->buffered();
  return total;
}

void Socks5Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::error_code ignored;
  acceptor_.close(ignored);
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, c] : connections) c->abort();
}

void Socks5Server::accept() {
  acceptor_.async_accept(
      [this, alive = alive_](const std::error_code& ec, asio::ip::tcp::socket socket) {
        if (!*alive || stopped_) return;
        if (!ec) {
          if (connections_.size() >= options_.max_connections) {
            logger()->warn("socks5: {} clients already, closing a new one", connections_.size());
            std::error_code ignored;
            socket.close(ignored);
          } else {
            std::error_code ignored;
            socket.set_option(asio::ip::tcp::no_delay(true), ignored);
            auto c = std::make_shared<Connection>(*this, std::move(socket), next_id_++);
            connections_.emplace(next_id_ - 1, c);
            c->start();
          }
        } else {
          logger()->warn("socks5: accept failed: {}", ec.message());
        }
        accept();
      });
}

void Socks5Server::remove(std::uint64_t id) {
  connections_.erase(id);
}

}  // namespace qc::front
