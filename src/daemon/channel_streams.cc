#include "daemon/channel_streams.h"

#include <asio/post.hpp>

#include "common/log.h"

namespace qc::daemon {

// ---- ChannelStream ----

ChannelStream::ChannelStream(ChannelStreams& owner, const NodeId& peer, std::int64_t id)
    : owner_(&owner), io_(owner.io_), peer_(peer), id_(id) {
  owner_->streams_[{peer_, id_}] = this;
}

ChannelStream::~ChannelStream() {
  *alive_ = false;
  if (!done_) reset();
  detach();
}

void ChannelStream::detach() {
  if (owner_ == nullptr) return;
  auto it = owner_->streams_.find({peer_, id_});
  if (it != owner_->streams_.end() && it->second == this) owner_->streams_.erase(it);
  owner_ = nullptr;
}

channel::Channel* ChannelStream::channel() const {
  if (owner_ == nullptr) return nullptr;
  channel::Channel* ch = owner_->channels_.find(peer_);
  return ch != nullptr && ch->is_ready() && !ch->is_closed() ? ch : nullptr;
}

void ChannelStream::set_handler(Handler* handler) {
  handler_ = handler;
  kick();
}

std::size_t ChannelStream::write(ByteView data) {
  if (done_ || error_ || write_shut_ || data.empty()) return 0;
  channel::Channel* ch = channel();
  if (ch == nullptr) {
    fail(Error{Errc::kClosed, "the channel is gone"});
    return 0;
  }
  auto r = ch->write_stream(id_, data, false);
  if (!r) {
    fail(r.error());
    return 0;
  }
  if (*r < data.size()) want_writable_ = true;
  if (*r > 0 && owner_->flush_) owner_->flush_();
  return *r;
}

void ChannelStream::shutdown_write() {
  if (done_ || write_shut_) return;
  write_shut_ = true;
  channel::Channel* ch = channel();
  if (ch == nullptr) {
    fail(Error{Errc::kClosed, "the channel is gone"});
    return;
  }
  if (auto r = ch->write_stream(id_, {}, true); !r) {
    fail(r.error());
    return;
  }
  if (owner_->flush_) owner_->flush_();
  kick();
}

void ChannelStream::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  kick();
}

void ChannelStream::reset() {
  if (done_) return;
  done_ = true;
  handler_ = nullptr;
  in_.clear();
  in_off_ = 0;
  if (!quic_closed_) {
    if (channel::Channel* ch = channel()) {
      (void)ch->reset_stream(id_, kStreamResetCode);
      if (owner_->flush_) owner_->flush_();
    }
  }
  detach();
}

void ChannelStream::on_data(ByteView data, bool fin) {
  if (done_) return;
  if (in_off_ > 0 && in_off_ >= in_.size() / 2) {
    in_.erase(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(in_off_));
    in_off_ = 0;
  }
  in_.insert(in_.end(), data.begin(), data.end());
  if (fin) fin_in_ = true;
  kick();
}

void ChannelStream::on_reset(std::uint64_t code) {
  fail(Error{Errc::kClosed, "the peer reset the stream (code " + std::to_string(code) + ")"});
}

void ChannelStream::on_writable() {
  if (!want_writable_) return;
  want_writable_ = false;
  writable_ = true;
  kick();
}

void ChannelStream::on_stream_closed() {
  quic_closed_ = true;
  kick();
}

void ChannelStream::on_channel_closed(const Error& why) {
  quic_closed_ = true;
  fail(Error{why.code, "channel closed: " + why.message});
  detach();
}

void ChannelStream::fail(Error e) {
  if (done_ || error_) return;
  error_ = std::move(e);
  in_.clear();
  in_off_ = 0;
  kick();
}

void ChannelStream::kick() {
  if (posted_ || done_ || handler_ == nullptr) return;
  posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    posted_ = false;
    deliver();
  });
}

void ChannelStream::deliver() {
  std::weak_ptr<bool> alive = alive_;
  // A callback may destroy the stream, reset it, or hand it to a new owner (set_handler(nullptr)
  // until the new owner sets its own, which delivers again).
  auto gone = [&] { return alive.expired() || done_ || handler_ == nullptr; };
  if (done_ || handler_ == nullptr) return;
  if (error_) {
    done_ = true;
    Handler* h = handler_;
    handler_ = nullptr;
    Error e = *error_;
    detach();
    h->on_closed(Err(std::move(e)));
    return;
  }
  while (!paused_ && in_off_ < in_.size()) {
    ByteView view(in_.data() + in_off_, in_.size() - in_off_);
    std::size_t offered = view.size();
    std::size_t took = std::min(handler_->on_data(view), offered);
    if (alive.expired()) return;
    // What the handler took is consumed even when it handed the stream over meanwhile.
    in_off_ += took;
    if (took > 0 && !done_) {
      if (channel::Channel* ch = channel()) {
        ch->consume_stream(id_, took);
        if (owner_->flush_) owner_->flush_();
      }
    }
    if (gone()) return;
    if (took < offered) paused_ = true;
    if (error_) return kick();
  }
  if (in_off_ == in_.size()) {
    in_.clear();
    in_off_ = 0;
  }
  if (!paused_ && fin_in_ && !fin_delivered_ && in_.empty()) {
    fin_delivered_ = true;
    handler_->on_fin();
    if (gone()) return;
  }
  if (writable_) {
    writable_ = false;
    handler_->on_writable();
    if (gone()) return;
  }
  if (quic_closed_ && !error_) {
    if (fin_in_ && write_shut_) {
      if (!fin_delivered_) return;  // still delivering (paused)
      done_ = true;
      Handler* h = handler_;
      handler_ = nullptr;
      detach();
      h->on_closed(Ok());
    } else {
      // Closed without both FINs: the peer reset or stopped it.
      fail(Error{Errc::kClosed, "the stream was closed before it finished"});
    }
  }
}

// ---- ChannelStreams ----

ChannelStreams::ChannelStreams(asio::io_context& io, channel::ChannelManager& channels,
                               std::function<void()> flush)
    : io_(io), channels_(channels), flush_(std::move(flush)) {}

ChannelStreams::~ChannelStreams() {
  auto streams = streams_;
  for (auto& [key, s] : streams) s->detach();
}

ChannelStream* ChannelStreams::find(const NodeId& peer, std::int64_t id) {
  auto it = streams_.find({peer, id});
  return it == streams_.end() ? nullptr : it->second;
}

Result<std::unique_ptr<ChannelStream>> ChannelStreams::open(const NodeId& peer) {
  channel::Channel* ch = channels_.find(peer);
  if (ch == nullptr || !ch->is_ready() || ch->is_closed())
    return Err(Errc::kClosed, "no ready channel to that peer");
  auto id = ch->open_stream();
  if (!id) return Err(id.error());
  return std::make_unique<ChannelStream>(*this, peer, *id);
}

void ChannelStreams::on_stream_opened(const NodeId& peer, std::int64_t id) {
  auto s = std::make_unique<ChannelStream>(*this, peer, id);
  if (!acceptor_) {
    s->reset();
    return;
  }
  acceptor_(std::move(s));
}

void ChannelStreams::on_stream_data(const NodeId& peer, std::int64_t id, ByteView data, bool fin) {
  if (ChannelStream* s = find(peer, id)) {
    s->on_data(data, fin);
    return;
  }
  // A stream we no longer hold (reset by us): credit the connection window anyway.
  if (channel::Channel* ch = channels_.find(peer)) ch->consume_stream(id, data.size());
}

void ChannelStreams::on_stream_reset(const NodeId& peer, std::int64_t id, std::uint64_t code) {
  if (ChannelStream* s = find(peer, id)) s->on_reset(code);
}

void ChannelStreams::on_stream_writable(const NodeId& peer, std::int64_t id) {
  if (ChannelStream* s = find(peer, id)) s->on_writable();
}

void ChannelStreams::on_stream_closed(const NodeId& peer, std::int64_t id) {
  if (ChannelStream* s = find(peer, id)) s->on_stream_closed();
}

void ChannelStreams::on_channel_closed(const NodeId& peer, const Error& why) {
  std::vector<ChannelStream*> hit;
  for (auto& [key, s] : streams_)
    if (key.first == peer) hit.push_back(s);
  for (ChannelStream* s : hit) s->on_channel_closed(why);
}

}  // namespace qc::daemon
