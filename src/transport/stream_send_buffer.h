// The bytes of one stream that the application wrote and the peer has not acknowledged yet.
//
// ngtcp2 does not copy stream data: it keeps pointers into this buffer until the bytes are
// acknowledged, so memory is held in fixed chunks that never move and are freed (returned to a
// per-thread pool) only once acked. Threading rule: one owner thread, like its Connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>

#include "common/bytes.h"

namespace qc::transport {

class StreamSendBuffer {
 public:
  static constexpr std::size_t kChunkSize = 64 * 1024;

  // `limit`: most bytes held (unacked) at once.
  explicit StreamSendBuffer(std::size_t limit) : limit_(limit) {}
  ~StreamSendBuffer();
  StreamSendBuffer(StreamSendBuffer&&) = default;
  StreamSendBuffer& operator=(StreamSendBuffer&&) = default;

  // Copies as much of `data` as fits under the limit; returns how many bytes were taken.
  std::size_t append(ByteView data);
  // Up to two contiguous runs of bytes not yet handed to QUIC, starting at sent_offset().
  // Returns how many spans were filled (0 when all is sent). Spans are never empty.
  std::size_t unsent(std::span<const std::uint8_t> out[2]) const;
  // `n` more bytes were handed to QUIC.
  void mark_sent(std::size_t n);
  // Everything below stream offset `offset` is acknowledged and may be freed.
  void ack_to(std::uint64_t offset);

  std::uint64_t sent_offset() const { return sent_; }
  std::uint64_t end_offset() const { return end_; }
  std::uint64_t unsent_bytes() const { return end_ - sent_; }
  std::size_t held() const { return static_cast<std::size_t>(end_ - acked_); }
  std::size_t room() const { return held() >= limit_ ? 0 : limit_ - held(); }
  std::size_t limit() const { return limit_; }

 private:
  struct ChunkDeleter {
    void operator()(std::uint8_t* p) const;
  };
  using Chunk = std::unique_ptr<std::uint8_t, ChunkDeleter>;
  static Chunk new_chunk();

  std::size_t limit_;
  std::deque<Chunk> chunks_;
  std::uint64_t base_ = 0;   // stream offset of chunks_.front()[0]
  std::uint64_t acked_ = 0;  // everything below is acknowledged
  std::uint64_t sent_ = 0;   // everything below was handed to QUIC
  std::uint64_t end_ = 0;    // everything below was written by the application
};

}  // namespace qc::transport
