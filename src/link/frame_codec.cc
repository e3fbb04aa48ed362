#include "link/frame_codec.h"

#include <algorithm>

namespace qc::link {

Result<void> encode_frame(const ControlMessage& msg, Bytes& out) {
  if (msg.body_case() == ControlMessage::BODY_NOT_SET) {
    return Err(Errc::kInvalidArgument, "control message has no body");
  }
  std::size_t size = msg.ByteSizeLong();
  if (size == 0 || size > kMaxFrameSize) {
    return Err(Errc::kTooLarge, "control message of " + std::to_string(size) +
                                    " bytes exceeds the frame limit of " +
                                    std::to_string(kMaxFrameSize));
  }
  std::size_t start = out.size();
  out.resize(start + kFrameHeaderSize + size);
  out[start] = static_cast<std::uint8_t>(size >> 24);
  out[start + 1] = static_cast<std::uint8_t>(size >> 16);
  out[start + 2] = static_cast<std::uint8_t>(size >> 8);
  out[start + 3] = static_cast<std::uint8_t>(size);
  if (!msg.SerializeToArray(out.data() + start + kFrameHeaderSize, static_cast<int>(size))) {
    out.resize(start);
    return Err(Errc::kInternal, "protobuf serialization failed");
  }
  return Ok();
}

Result<Bytes> encode_frame(const ControlMessage& msg) {
  Bytes out;
  QC_TRY(encode_frame(msg, out));
  return out;
}

void FrameDecoder::feed(ByteView data) {
  if (error_ || data.empty()) return;
  // Compact once the consumed prefix dominates, so the buffer stays near one frame.
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

Result<std::optional<ControlMessage>> FrameDecoder::next() {
  if (error_) return Err(*error_);
  if (buffered() < kFrameHeaderSize) return std::optional<ControlMessage>();
  const std::uint8_t* p = buf_.data() + pos_;
  std::uint32_t len = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                      (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
  if (len == 0) {
    error_ = Error{Errc::kParse, "empty control frame"};
    return Err(*error_);
  }
  if (len > max_frame_) {
    error_ =
        Error{Errc::kTooLarge, "control frame of " + std::to_string(len) +
                                   " bytes exceeds the limit of " + std::to_string(max_frame_)};
    return Err(*error_);
  }
  if (buffered() < kFrameHeaderSize + len) return std::optional<ControlMessage>();
  ControlMessage msg;
  if (!msg.ParseFromArray(p + kFrameHeaderSize, static_cast<int>(len))) {
    error_ = Error{Errc::kParse, "control frame of " + std::to_string(len) +
                                     " bytes is not a valid ControlMessage"};
    return Err(*error_);
  }
  pos_ += kFrameHeaderSize + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return std::optional<ControlMessage>(std::move(msg));
}

Result<void> FrameDecoder::finish() const {
  if (error_) return Err(*error_);
  if (buffered() > 0) {
    return Err(Errc::kParse, "control stream ended inside a frame (" + std::to_string(buffered()) +
                                 " bytes left)");
  }
  return Ok();
}

}  // namespace qc::link
