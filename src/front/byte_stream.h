// ByteStream: a bidirectional byte stream with back-pressure, the one interface the SOCKS5 front
// end, the expose side and the splice speak. Implementations: TcpByteStream (a TCP socket),
// MemoryPipe (an in-memory twin for tests), and the Node's channel streams.
//
// Contract (every implementation):
//   - Single-threaded: methods and Handler callbacks run on the owner's event-loop thread.
//   - No callback runs from inside a call to one of the stream's own methods; callbacks come
//     from the event loop (so a handler may call any method, or destroy the stream, from inside
//     a callback and the stream copes).
//   - Nothing is delivered before set_handler().
//   - write() takes at most what fits in the stream's bounded buffer and returns how much it
//     took; after a short write, on_writable() follows once there is room again.
//   - on_data() returns how much the handler took; when it took less, the stream keeps the rest
//     and delivers nothing more until resume_reading() (back-pressure toward the sender).
//   - shutdown_write() sends FIN after everything accepted so far (half-close); the peer sees
//     on_fin(). No write() after it.
//   - reset() aborts both directions at once: buffered data is dropped and the peer sees
//     on_closed(error). No callbacks follow a reset().
//   - on_closed() is the last callback: with Ok when both directions ended in order (FIN seen,
//     own FIN sent and everything written handed on), with the error otherwise. The owner may
//     destroy the stream then. Destroying a stream that has not closed resets it.
#pragma once

#include <cstddef>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::front {

class ByteStream {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual std::size_t on_data(ByteView data) = 0;
    virtual void on_fin() = 0;
    virtual void on_writable() = 0;
    virtual void on_closed(Result<void> outcome) = 0;
  };

  virtual ~ByteStream() = default;
  virtual void set_handler(Handler* handler) = 0;
  [[nodiscard]] virtual std::size_t write(ByteView data) = 0;
  virtual void shutdown_write() = 0;
  virtual void resume_reading() = 0;
  virtual void reset() = 0;
  // Bytes this stream holds in its own buffers (accepted by write() and not yet handed on, plus
  // received data held back by the handler's back-pressure). Bounded by the implementation.
  virtual std::size_t buffered() const = 0;
};

}  // namespace qc::front
