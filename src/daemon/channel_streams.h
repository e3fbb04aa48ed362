// ChannelStreams: the streams of the node's channels as front::ByteStream objects, the one
// stream interface the SOCKS5 front end, the expose side (LocalConnector) and the C++ API speak.
//
// The node forwards the ChannelObserver stream events here. Receive-side back-pressure is real:
// the channels run with manual stream credit, and a stream credits the peer only with the bytes
// its handler took, so a reader that stops holds the sender back (bounded by the QUIC stream
// window) instead of growing a buffer. Send-side: write() takes what the channel's stream send
// buffer takes; on_writable() follows a short write.
//
// Streams look their channel up by peer on every call (a channel may close and be forgotten
// under a stream); a channel that closes ends all its streams with the channel's error.
//
// Threading: single-threaded, the node's event loop. Callbacks are posted, never run from
// inside a stream method (the ByteStream contract).
#pragma once

#include <cstddef>

#include <asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>

#include "channel/channel_manager.h"
#include "front/byte_stream.h"

namespace qc::daemon {

using identity::NodeId;

class ChannelStreams;

class ChannelStream final : public front::ByteStream {
 public:
  ChannelStream(ChannelStreams& owner, const NodeId& peer, std::int64_t id);
  ~ChannelStream() override;
  ChannelStream(const ChannelStream&) = delete;
  ChannelStream& operator=(const ChannelStream&) = delete;

  const NodeId& peer() const { return peer_; }
  std::int64_t id() const { return id_; }

  // front::ByteStream
  void set_handler(Handler* handler) override;
  [[nodiscard]] std::size_t write(ByteView data) override;
  void shutdown_write() override;
  void resume_reading() override;
  void reset() override;
  std::size_t buffered() const override { return in_.size() - in_off_; }

 private:
  friend class ChannelStreams;
  // From ChannelStreams (channel events).
  void on_data(ByteView data, bool fin);
  void on_reset(std::uint64_t code);
  void on_writable();
  void on_stream_closed();
  void on_channel_closed(const Error& why);

  channel::Channel* channel() const;
  void fail(Error e);
  void kick();
  void deliver();
  void detach();

  ChannelStreams* owner_;
  asio::io_context& io_;
  NodeId peer_;
  std::int64_t id_;
  Handler* handler_ = nullptr;
  Bytes in_;
  std::size_t in_off_ = 0;
  bool fin_in_ = false;         // the peer's FIN arrived
  bool fin_delivered_ = false;  // ... and the handler saw on_fin()
  bool paused_ = false;         // the handler took less than offered
  bool want_writable_ = false;  // a write was short
  bool writable_ = false;       // ... and there is room again: on_writable() due
  bool write_shut_ = false;
  bool quic_closed_ = false;  // the QUIC stream is closed in both directions
  bool done_ = false;         // reset() or on_closed() happened: no more callbacks
  std::optional<Error> error_;
  bool posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

class ChannelStreams {
 public:
  // `flush` makes the channels write what the stream calls produced (posted by the node).
  ChannelStreams(asio::io_context& io, channel::ChannelManager& channels,
                 std::function<void()> flush);
  ~ChannelStreams();
  ChannelStreams(const ChannelStreams&) = delete;
  ChannelStreams& operator=(const ChannelStreams&) = delete;

  // A stream the peer opened, and who opened it. Without an acceptor the stream is reset.
  using Acceptor = std::function<void(std::unique_ptr<ChannelStream>)>;
  void set_acceptor(Acceptor acceptor) { acceptor_ = std::move(acceptor); }

  // Opens a stream on the ready channel to `peer`. kClosed when there is no ready channel,
  // kLimit when the peer's stream limit is reached (retry later).
  Result<std::unique_ptr<ChannelStream>> open(const NodeId& peer);

  // ChannelObserver events, forwarded by the node.
  void on_stream_opened(const NodeId& peer, std::int64_t id);
  void on_stream_data(const NodeId& peer, std::int64_t id, ByteView data, bool fin);
  void on_stream_reset(const NodeId& peer, std::int64_t id, std::uint64_t code);
  void on_stream_writable(const NodeId& peer, std::int64_t id);
  void on_stream_closed(const NodeId& peer, std::int64_t id);
  void on_channel_closed(const NodeId& peer, const Error& why);

  std::size_t size() const { return streams_.size(); }

 private:
  friend class ChannelStream;
  ChannelStream* find(const NodeId& peer, std::int64_t id);

  asio::io_context& io_;
  channel::ChannelManager& channels_;
  std::function<void()> flush_;
  Acceptor acceptor_;
  std::map<std::pair<NodeId, std::int64_t>, ChannelStream*> streams_;
};

// Application error code of a stream reset by a ByteStream owner.
constexpr std::uint64_t kStreamResetCode = 0x10;

}  // namespace qc::daemon
