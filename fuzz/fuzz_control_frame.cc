// libFuzzer target: arbitrary bytes, in arbitrary chunking, into a session's control stream
// (FrameDecoder + ControlChannel + message dispatch). Must never crash, hang or leak.
//
// Input layout: byte 0 chooses the chunking and options, the rest is the stream.
#include <cstddef>
#include <cstdint>

#include "link/control_channel.h"
#include "link/frame_codec.h"

namespace {

// What a session does with an accepted message, minus the IO: read every field and re-encode.
void dispatch(qc::link::ControlMessage& m) {
  switch (m.body_case()) {
    case qc::link::ControlMessage::kHello:
      (void)m.hello().node_text_id().size();
      break;
    case qc::link::ControlMessage::kPing:
    case qc::link::ControlMessage::kPong:
    case qc::link::ControlMessage::kGoodbye:
    case qc::link::ControlMessage::kRouting:
    default:
      break;
  }
  auto again = qc::link::encode_frame(m);
  if (again) {
    qc::link::FrameDecoder d;
    d.feed(*again);
    auto back = d.next();
    // A message we accepted must survive its own encoding.
    if (!back || !back->has_value()) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::uint8_t mode = data[0];
  qc::ByteView stream(data + 1, size - 1);
  // Half the runs check the Hello's node id, half accept any (so later messages are reached).
  qc::link::ControlChannel channel((mode & 1) != 0 ? "faqmce7yybsswacf" : "");
  bool end_with_fin = (mode & 2) != 0;
  std::size_t base = 1 + (mode >> 2);  // 1..64 bytes per chunk, varying
  std::size_t off = 0;
  for (std::size_t i = 0; off < stream.size() || (i == 0 && end_with_fin); ++i) {
    std::size_t n = std::min(stream.size() - off, base + (i * 7) % base);
    bool fin = end_with_fin && off + n == stream.size();
    auto v = channel.receive(stream.subspan(off, n), fin, dispatch);
    off += n;
    if (v || fin) break;
  }
  return 0;
}
