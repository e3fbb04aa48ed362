#include "front/local_connector.h"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "common/log.h"
#include "front/splice.h"
#include "front/stream_header.h"

namespace qc::front {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("front");
  return l;
}

}  // namespace

// One incoming stream: header, policy, local connect, then splice. Asynchronous operations hold
// a shared_ptr; `owner_` is cleared when the connector goes away.
class LocalConnector::Incoming : public std::enable_shared_from_this<Incoming>,
                                 public ByteStream::Handler {
 public:
  Incoming(LocalConnector& owner, std::unique_ptr<ByteStream> stream, std::uint64_t id)
      : owner_(&owner),
        stream_(std::move(stream)),
        timer_(owner.io_),
        resolver_(owner.io_),
        socket_(owner.io_),
        id_(id) {}

  void start() {
    timer_.expires_after(owner_->options_.header_timeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->on_timeout();
    });
    stream_->set_handler(this);
  }

  void abort() {
    owner_ = nullptr;
    timer_.cancel();
    resolver_.cancel();
    std::error_code ignored;
    socket_.close(ignored);
    if (splice_) splice_->reset();
    if (stream_) {
      stream_->set_handler(nullptr);
      stream_->reset();
    }
  }

  // ---- ByteStream::Handler, while this object handles the mesh stream ----
  std::size_t on_data(ByteView data) override {
    if (phase_ != Phase::kHeader) return phase_ == Phase::kAnswered ? data.size() : 0;
    std::size_t take = std::min(data.size(), kOpenRequestSize - header_.size());
    header_.insert(header_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    auto port = decode_open_request(header_);
    if (!port) {
      logger()->debug("exposed stream {}: {}", id_, port.error().message);
      fail_hard();
      return 0;
    }
    if (!*port) return take;
    phase_ = Phase::kConnecting;
    on_port(**port);
    // Bytes after the header stay in the stream (paused) until the splice resumes it.
    return take;
  }
  void on_fin() override {
    if (phase_ == Phase::kHeader) fail_hard();  // FIN before a whole header
  }
  void on_writable() override {}
  void on_closed(Result<void>) override {
    stream_closed_ = true;
    done();
  }

 private:
  enum class Phase { kHeader, kConnecting, kAnswered, kSpliced, kDone };

  void on_timeout() {
    if (owner_ == nullptr) return;
    if (phase_ == Phase::kHeader) {
      logger()->debug("exposed stream {}: no header in time", id_);
      fail_hard();
    } else if (phase_ == Phase::kConnecting) {
      resolver_.cancel();
      std::error_code ignored;
      socket_.close(ignored);
      answer(socks5::ReplyCode::kTtlExpired);
    }
  }

  void on_port(std::uint16_t port) {
    if (owner_->listening_ && owner_->listening_(port)) return hand_over(port);
    const ExposeRule* rule = owner_->policy_.find(port);
    if (rule == nullptr) {
      ++owner_->refused_;
      logger()->debug("exposed stream {}: port {} is not exposed", id_, port);
      return answer(socks5::ReplyCode::kNotAllowed);
    }
    timer_.expires_after(owner_->options_.connect_timeout);
    timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (!ec) self->on_timeout();
    });
    resolver_.async_resolve(
        rule->host, std::to_string(rule->target_port), asio::ip::tcp::resolver::numeric_service,
        [self = shared_from_this()](const std::error_code& ec,
                                    asio::ip::tcp::resolver::results_type results) {
          if (self->owner_ == nullptr || self->phase_ != Phase::kConnecting) return;
          if (ec || results.empty()) return self->answer(socks5::ReplyCode::kHostUnreachable);
          self->connect(std::move(results));
        });
  }

  void connect(asio::ip::tcp::resolver::results_type results) {
    asio::async_connect(
        socket_, results,
        [self = shared_from_this()](const std::error_code& ec, const asio::ip::tcp::endpoint&) {
          if (self->owner_ == nullptr || self->phase_ != Phase::kConnecting) {
            return;
          }
          if (ec) {
            logger()->debug("exposed stream {}: local connect: {}", self->id_, ec.message());
            return self->answer(ec == asio::error::connection_refused
                                    ? socks5::ReplyCode::kConnectionRefused
                                    : socks5::ReplyCode::kGeneralFailure);
          }
          self->spliced();
        });
  }

  // A refusal: send the status and FIN, then wait for the SOCKS side to close the stream.
  void answer(socks5::ReplyCode code) {
    phase_ = Phase::kAnswered;
    timer_.cancel();
    Bytes response = encode_open_response(code);
    (void)stream_->write(response);  // 2 bytes into an empty stream buffer
    stream_->shutdown_write();
    stream_->resume_reading();  // drain whatever the client sent meanwhile
  }

  void spliced() {
    timer_.cancel();
    Bytes response = encode_open_response(socks5::ReplyCode::kSucceeded);
    if (stream_->write(response) != response.size()) return fail_hard();
    phase_ = Phase::kSpliced;
    std::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    auto local = std::make_unique<TcpByteStream>(std::move(socket_), owner_->options_.local_stream);
    stream_->resume_reading();
    std::weak_ptr<Incoming> weak = shared_from_this();
    splice_ = std::make_unique<Splice>(std::move(local), std::move(stream_), [weak](Result<void>) {
      if (auto self = weak.lock()) self->done();
    });
  }

  // An in-process listener takes the stream; this object is done with it.
  void hand_over(std::uint16_t port) {
    timer_.cancel();
    Bytes response = encode_open_response(socks5::ReplyCode::kSucceeded);
    if (stream_->write(response) != response.size()) return fail_hard();
    phase_ = Phase::kDone;
    stream_->set_handler(nullptr);
    stream_closed_ = true;
    LocalConnector* owner = owner_;
    auto stream = std::move(stream_);
    done();
    owner->take_(port, std::move(stream));
  }

  void fail_hard() {
    phase_ = Phase::kDone;
    timer_.cancel();
    stream_->reset();
    stream_closed_ = true;
    done();
  }

  void done() {
    if (owner_ == nullptr) return;
    if (phase_ == Phase::kSpliced || stream_closed_) {
      phase_ = Phase::kDone;
      timer_.cancel();
      // Destroy on a later turn: we may be inside a callback of the stream or the splice.
      auto self = shared_from_this();
      asio::post(owner_->io_, [self, s = std::shared_ptr<Splice>(std::move(splice_)),
                               st = std::shared_ptr<ByteStream>(std::move(stream_))] {});
      LocalConnector* owner = owner_;
      owner_ = nullptr;
      owner->remove(id_);
    }
  }

  LocalConnector* owner_;
  std::unique_ptr<ByteStream> stream_;  // until spliced
  asio::steady_timer timer_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket socket_;
  std::uint64_t id_;
  Phase phase_ = Phase::kHeader;
  Bytes header_;
  bool stream_closed_ = false;
  std::unique_ptr<Splice> splice_;
};

LocalConnector::LocalConnector(asio::io_context& io, ExposePolicy policy,
                               LocalConnectorOptions options)
    : io_(io), policy_(std::move(policy)), options_(options) {}

LocalConnector::~LocalConnector() {
  auto all = std::move(incoming_);
  incoming_.clear();
  for (auto& [id, in] : all) in->abort();
}

void LocalConnector::accept(std::unique_ptr<ByteStream> stream) {
  std::uint64_t id = next_id_++;
  auto in = std::make_shared<Incoming>(*this, std::move(stream), id);
  incoming_.emplace(id, in);
  in->start();
}

void LocalConnector::remove(std::uint64_t id) {
  incoming_.erase(id);
}

}  // namespace qc::front
