#include "transport/stream_send_buffer.h"

#include <gtest/gtest.h>

namespace qc::transport {
namespace {

TEST(StreamSendBufferTest, AppendSendAckAcrossChunks) {
  StreamSendBuffer b(200 * 1024);
  Bytes data(150 * 1024);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i % 251);
  EXPECT_EQ(b.append(data), data.size());
  EXPECT_EQ(b.append(data), 50u * 1024);  // limit
  EXPECT_EQ(b.room(), 0u);
  std::span<const std::uint8_t> spans[2];
  ASSERT_EQ(b.unsent(spans), 2u);
  EXPECT_EQ(spans[0].size(), StreamSendBuffer::kChunkSize);
  EXPECT_EQ(spans[1].size(), StreamSendBuffer::kChunkSize);
  b.mark_sent(StreamSendBuffer::kChunkSize + 10);
  ASSERT_EQ(b.unsent(spans), 2u);
  EXPECT_EQ(spans[0][0], data[(StreamSendBuffer::kChunkSize + 10) % data.size()]);
  b.ack_to(StreamSendBuffer::kChunkSize + 5);
  EXPECT_EQ(b.held(), 200u * 1024 - StreamSendBuffer::kChunkSize - 5);
  EXPECT_EQ(b.append(data), StreamSendBuffer::kChunkSize + 5);
  b.mark_sent(static_cast<std::size_t>(b.unsent_bytes()));
  b.ack_to(b.end_offset());
  EXPECT_EQ(b.held(), 0u);
  EXPECT_EQ(b.unsent(spans), 0u);
}

}  // namespace
}  // namespace qc::transport
