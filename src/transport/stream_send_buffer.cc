#include "transport/stream_send_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <vector>

namespace qc::transport {

namespace {
// Freed chunks kept for reuse, per thread (the data path must not allocate per packet).
constexpr std::size_t kPoolMax = 512;  // 32 MiB
struct ChunkPool {
  std::vector<std::uint8_t*> free;
  ~ChunkPool() {
    for (std::uint8_t* p : free) delete[] p;
  }
};
thread_local ChunkPool t_pool;
}  // namespace

void StreamSendBuffer::ChunkDeleter::operator()(std::uint8_t* p) const {
  if (t_pool.free.size() < kPoolMax) {
    t_pool.free.push_back(p);
  } else {
    delete[] p;
  }
}

StreamSendBuffer::Chunk StreamSendBuffer::new_chunk() {
  if (!t_pool.free.empty()) {
    std::uint8_t* p = t_pool.free.back();
    t_pool.free.pop_back();
    return Chunk(p);
  }
  return Chunk(new std::uint8_t[kChunkSize]);
}

StreamSendBuffer::~StreamSendBuffer() = default;

std::size_t StreamSendBuffer::append(ByteView data) {
  std::size_t take = std::min(data.size(), room());
  std::size_t done = 0;
  while (done < take) {
    std::uint64_t chunk_index = (end_ - base_) / kChunkSize;
    std::size_t in_chunk = static_cast<std::size_t>((end_ - base_) % kChunkSize);
    if (chunk_index >= chunks_.size()) chunks_.push_back(new_chunk());
    std::size_t n = std::min(take - done, kChunkSize - in_chunk);
    std::memcpy(chunks_[chunk_index].get() + in_chunk, data.data() + done, n);
    done += n;
    end_ += n;
  }
  return take;
}

std::size_t StreamSendBuffer::unsent(std::span<const std::uint8_t> out[2]) const {
  std::size_t count = 0;
  std::uint64_t pos = sent_;
  while (count < 2 && pos < end_) {
    std::uint64_t chunk_index = (pos - base_) / kChunkSize;
    std::size_t in_chunk = static_cast<std::size_t>((pos - base_) % kChunkSize);
    std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(end_ - pos, kChunkSize - in_chunk));
    out[count++] = {chunks_[chunk_index].get() + in_chunk, n};
    pos += n;
  }
  return count;
}

void StreamSendBuffer::mark_sent(std::size_t n) {
  assert(sent_ + n <= end_);
  sent_ += n;
}

void StreamSendBuffer::ack_to(std::uint64_t offset) {
  offset = std::min(offset, sent_);
  if (offset <= acked_) return;
  acked_ = offset;
  while (!chunks_.empty() && base_ + kChunkSize <= acked_) {
    chunks_.pop_front();
    base_ += kChunkSize;
  }
}

}  // namespace qc::transport
