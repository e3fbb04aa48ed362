// TcpByteStream: a ByteStream over a connected TCP socket (standalone Asio).
//
// Bounds: at most `write_limit` bytes wait to be written to the socket (write() takes no more);
// reads go into one buffer of `read_chunk` bytes, and the next read starts only once the handler
// took all of it, so a slow consumer stops reading from the socket (TCP flow control pushes
// back on the sender). FIN maps to shutdown(SHUT_WR) and EOF; reset() closes with SO_LINGER 0
// so the peer sees RST, and a RST or error from the peer is reported by on_closed(error).
//
// Threading: one io_context thread (the socket's executor). Pending operations hold the
// internal state, so the stream may be destroyed at any time, even inside a callback.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/ip/tcp.hpp>

#include <memory>

#include "front/byte_stream.h"

namespace qc::front {

struct TcpByteStreamOptions {
  std::size_t write_limit = 64 * 1024;
  std::size_t read_chunk = 16 * 1024;
};

class TcpByteStream final : public ByteStream {
 public:
  // `already_read`: bytes that came from the socket before (e.g. after a SOCKS request); they
  // are delivered first.
  TcpByteStream(asio::ip::tcp::socket socket, TcpByteStreamOptions options = {},
                Bytes already_read = {});
  ~TcpByteStream() override;
  TcpByteStream(const TcpByteStream&) = delete;
  TcpByteStream& operator=(const TcpByteStream&) = delete;

  void set_handler(Handler* handler) override;
  std::size_t write(ByteView data) override;
  void shutdown_write() override;
  void resume_reading() override;
  void reset() override;
  std::size_t buffered() const override;

  struct State;

 private:
  std::shared_ptr<State> s_;
};

}  // namespace qc::front
