#include "link/frame_codec.h"

#include <gtest/gtest.h>

namespace qc::link {
namespace {

ControlMessage ping(std::uint64_t nonce) {
  ControlMessage m;
  m.mutable_ping()->set_nonce(nonce);
  return m;
}

TEST(FrameCodecTest, RoundTripInAnyChunking) {
  Bytes stream;
  ControlMessage hello;
  hello.mutable_hello()->set_version(1);
  hello.mutable_hello()->set_node_text_id("faqmce7yybsswacf");
  ASSERT_TRUE(encode_frame(hello, stream));
  for (std::uint64_t i = 0; i < 50; ++i) ASSERT_TRUE(encode_frame(ping(i), stream));
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 100000u}) {
    FrameDecoder d;
    std::vector<ControlMessage> got;
    for (std::size_t off = 0; off < stream.size(); off += chunk) {
      d.feed(ByteView(stream).subspan(off, std::min(chunk, stream.size() - off)));
      for (;;) {
        auto m = d.next();
        ASSERT_TRUE(m) << m.error().to_string();
        if (!m->has_value()) break;
        got.push_back(**m);
      }
    }
    ASSERT_EQ(got.size(), 51u) << "chunk " << chunk;
    EXPECT_EQ(got[0].hello().node_text_id(), "faqmce7yybsswacf");
    EXPECT_EQ(got[50].ping().nonce(), 49u);
    EXPECT_TRUE(d.finish());
  }
}

TEST(FrameCodecTest, HeaderIsBigEndianLength) {
  auto f = encode_frame(ping(1));
  ASSERT_TRUE(f);
  ASSERT_GE(f->size(), 5u);
  std::size_t len = (std::size_t{(*f)[0]} << 24) | (std::size_t{(*f)[1]} << 16) |
                    (std::size_t{(*f)[2]} << 8) | (*f)[3];
  EXPECT_EQ(len, f->size() - kFrameHeaderSize);
}

TEST(FrameCodecTest, RefusesEmptyAndOversizeMessages) {
  EXPECT_EQ(encode_frame(ControlMessage()).error().code, Errc::kInvalidArgument);
  ControlMessage big;
  big.mutable_hello()->set_software(std::string(kMaxFrameSize, 'x'));
  EXPECT_EQ(encode_frame(big).error().code, Errc::kTooLarge);
}

TEST(FrameCodecTest, OversizeFrameIsAnError) {
  FrameDecoder d;
  Bytes header = {0x00, 0x01, 0x00, 0x01};  // 65537
  d.feed(header);
  auto m = d.next();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kTooLarge);
  // Errors are permanent.
  d.feed(*encode_frame(ping(1)));
  EXPECT_FALSE(d.next());
}

TEST(FrameCodecTest, GarbageIsAnError) {
  FrameDecoder d;
  Bytes garbage = {0x00, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff};
  d.feed(garbage);
  auto m = d.next();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::kParse);
}

TEST(FrameCodecTest, ZeroLengthFrameIsAnError) {
  FrameDecoder d;
  d.feed(Bytes{0, 0, 0, 0});
  EXPECT_EQ(d.next().error().code, Errc::kParse);
}

TEST(FrameCodecTest, TruncatedFrameAtEndOfStream) {
  auto f = encode_frame(ping(7));
  ASSERT_TRUE(f);
  FrameDecoder d;
  d.feed(ByteView(*f).first(f->size() - 1));
  auto m = d.next();
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->has_value());
  auto end = d.finish();
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code, Errc::kParse);
}

TEST(FrameCodecTest, TruncatedMessageInsideFrame) {
  ControlMessage m;
  m.mutable_goodbye()->set_reason("a reason long enough");
  auto f = encode_frame(m);
  ASSERT_TRUE(f);
  // Shorten the frame by 3 bytes and fix the header: the protobuf inside is cut.
  Bytes cut(f->begin(), f->end() - 3);
  std::size_t len = cut.size() - kFrameHeaderSize;
  cut[3] = static_cast<std::uint8_t>(len);
  FrameDecoder d;
  d.feed(cut);
  EXPECT_EQ(d.next().error().code, Errc::kParse);
}

}  // namespace
}  // namespace qc::link
