// MemoryPipe: two connected in-memory ByteStreams, the in-memory twin of a TCP connection or a
// channel stream. Each direction holds at most `capacity` bytes; write() takes what fits.
// Threading: both ends belong to one io_context thread; callbacks are posted to it.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/io_context.hpp>

#include <memory>

#include "front/byte_stream.h"

namespace qc::front {

struct MemoryPipe {
  std::unique_ptr<ByteStream> a;
  std::unique_ptr<ByteStream> b;
};

MemoryPipe make_memory_pipe(asio::io_context& io, std::size_t capacity = 64 * 1024);

}  // namespace qc::front
