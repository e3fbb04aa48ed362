// What the channel layer tells the front ends (SOCKS5, TUN, the C++ API). All calls come from
// inside ChannelManager/Channel methods on the node's event-loop thread; an observer may call
// the channel's buffering methods (write_stream, send_datagram, ...) but must not destroy it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "channel/channel_config.h"
#include "common/bytes.h"
#include "common/result.h"

namespace qc::channel {

class ChannelObserver {
 public:
  virtual ~ChannelObserver() = default;
  // The channel's handshake is confirmed: streams and datagrams can be used.
  virtual void on_channel_ready(const NodeId& /*peer*/) {}
  // The channel is gone (idle, closed, failed). `why` says what happened (kClosed for an
  // orderly close, kTooLarge when no path fits a channel packet, kUnreachable, kTimeout, ...).
  virtual void on_channel_closed(const NodeId& /*peer*/, const Error& /*why*/) {}
  virtual void on_stream_opened(const NodeId& /*peer*/, std::int64_t /*id*/) {}
  // In-order bytes of a stream; `fin` marks its end. Copy what you keep.
  virtual void on_stream_data(const NodeId& /*peer*/, std::int64_t /*id*/, ByteView /*data*/,
                              bool /*fin*/) {}
  virtual void on_stream_reset(const NodeId& /*peer*/, std::int64_t /*id*/,
                               std::uint64_t /*code*/) {}
  // write_stream() took less than asked before; there is room again.
  virtual void on_stream_writable(const NodeId& /*peer*/, std::int64_t /*id*/) {}
  virtual void on_stream_closed(const NodeId& /*peer*/, std::int64_t /*id*/) {}
  virtual void on_datagram(const NodeId& /*peer*/, ByteView /*data*/) {}
  // Fewer than min_healthy_paths circuits to `peer` are healthy: build more (CircuitBuilder).
  virtual void on_want_circuits(const NodeId& /*peer*/, std::size_t /*healthy*/) {}
};

}  // namespace qc::channel
