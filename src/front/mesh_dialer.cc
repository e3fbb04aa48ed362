#include "front/mesh_dialer.h"

#include <asio/post.hpp>

#include "front/stream_header.h"

namespace qc::front {

// One dial waiting for the target's open response. Owned by the dialer's map.
class MeshDialer::Pending final : public ByteStream::Handler {
 public:
  Pending(MeshDialer& owner, std::uint64_t id, std::unique_ptr<ByteStream> stream,
          Callback callback)
      : owner_(owner), id_(id), stream_(std::move(stream)), callback_(std::move(callback)) {}

  void start(std::uint16_t port) {
    Bytes request = encode_open_request(port);
    if (stream_->write(request) != request.size()) {
      return finish(Err(Errc::kInternal, "mesh stream took less than the 3-byte header"));
    }
    stream_->set_handler(this);
  }

  std::size_t on_data(ByteView data) override {
    if (finished_) return 0;
    std::size_t take = std::min(data.size(), kOpenResponseSize - response_.size());
    response_.insert(response_.end(), data.begin(),
                     data.begin() + static_cast<std::ptrdiff_t>(take));
    auto status = decode_open_response(response_);
    if (!status) {
      stream_->reset();
      finish(Err(status.error()));
      return 0;
    }
    if (!*status) return take;
    if (**status != socks5::ReplyCode::kSucceeded) {
      stream_->reset();
      finish(Err(open_status_error(**status)));
      return 0;
    }
    // Connected: the rest of the data stays held until the new owner resumes reading.
    stream_->set_handler(nullptr);
    stream_->resume_reading();
    finish(std::move(stream_));
    return take;
  }
  void on_fin() override {
    if (!finished_) finish(Err(Errc::kClosed, "target node closed the stream before answering"));
  }
  void on_writable() override {}
  void on_closed(Result<void> outcome) override {
    if (finished_) return;
    if (outcome) {
      finish(Err(Errc::kClosed, "target node closed the stream before answering"));
    } else {
      finish(Err(Errc::kClosed, "stream to target: " + outcome.error().message));
    }
  }

 private:
  void finish(Result<std::unique_ptr<ByteStream>> result) {
    finished_ = true;
    Callback callback = std::move(callback_);
    std::unique_ptr<ByteStream> dead;
    if (stream_) {
      stream_->set_handler(nullptr);
      dead = std::move(stream_);
    }
    // Remove this entry on a later turn (we may be inside the stream's callback), then answer.
    auto* owner = &owner_;
    auto alive = owner_.alive_;
    std::uint64_t id = id_;
    auto holder = std::make_shared<Result<std::unique_ptr<ByteStream>>>(std::move(result));
    auto dead_holder = std::make_shared<std::unique_ptr<ByteStream>>(std::move(dead));
    asio::post(owner_.io_, [owner, alive, id, callback, holder, dead_holder] {
      if (*alive) owner->remove(id);
      callback(std::move(*holder));
    });
  }

  MeshDialer& owner_;
  std::uint64_t id_;
  std::unique_ptr<ByteStream> stream_;
  Callback callback_;
  Bytes response_;
  bool finished_ = false;
};

MeshDialer::MeshDialer(asio::io_context& io, StreamOpener& opener, Dialer* direct)
    : io_(io), opener_(opener), direct_(direct) {}

MeshDialer::~MeshDialer() {
  *alive_ = false;
}

void MeshDialer::remove(std::uint64_t id) {
  pending_.erase(id);
}

void MeshDialer::dial(const Destination& destination, Callback callback) {
  if (destination.kind == Destination::Kind::kOutside) {
    if (direct_ != nullptr) return direct_->dial(destination, std::move(callback));
    asio::post(io_, [callback] {
      callback(Err(Errc::kLimit, "this node does not let traffic out directly"));
    });
    return;
  }
  std::uint16_t port = destination.port();
  auto alive = alive_;
  opener_.open(destination.peer, [this, alive, port, callback = std::move(callback)](
                                     Result<std::unique_ptr<ByteStream>> stream) {
    if (!*alive) return;
    if (!stream) return callback(Err(stream.error()));
    std::uint64_t id = next_id_++;
    auto pending = std::make_unique<Pending>(*this, id, std::move(*stream), callback);
    Pending* p = pending.get();
    pending_.emplace(id, std::move(pending));
    p->start(port);
  });
}

}  // namespace qc::front
