// Control-stream framing: each ControlMessage travels as
//   u32 length (big endian, 1..kMaxFrameSize) | protobuf-encoded qc.link.ControlMessage
// FrameDecoder accumulates stream bytes in any chunking and yields whole messages. Its errors
// are permanent (the stream is unusable after them) and map to a CloseCode:
//   kTooLarge -> kFrameTooLarge, kParse -> kBadFrame.
//
// Threading rule: plain values; one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/result.h"
#include "link/link_pb.h"

namespace qc::link {

constexpr std::size_t kFrameHeaderSize = 4;
constexpr std::size_t kMaxFrameSize = 64 * 1024;

// Appends one frame holding `msg` to `out`. kTooLarge when the encoding exceeds kMaxFrameSize;
// kInvalidArgument for a message with no body.
Result<void> encode_frame(const ControlMessage& msg, Bytes& out);
Result<Bytes> encode_frame(const ControlMessage& msg);

class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame = kMaxFrameSize) : max_frame_(max_frame) {}

  // Appends bytes read from the stream (ignored after an error).
  void feed(ByteView data);
  // The next whole message; std::nullopt when more bytes are needed. After an error every call
  // returns the same error.
  Result<std::optional<ControlMessage>> next();
  // Call at the end of the stream: kParse when a partial frame is left.
  Result<void> finish() const;

  std::size_t buffered() const { return buf_.size() - pos_; }
  bool failed() const { return error_.has_value(); }

 private:
  std::size_t max_frame_;
  Bytes buf_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

}  // namespace qc::link
