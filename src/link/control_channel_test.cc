#include "link/control_channel.h"

#include <gtest/gtest.h>

namespace qc::link {
namespace {

const std::string kPeer = "faqmce7yybsswacf";

Bytes frame(const ControlMessage& m) {
  return *encode_frame(m);
}
ControlMessage hello(const std::string& id = kPeer, std::uint32_t version = kProtocolVersion) {
  ControlMessage m;
  m.mutable_hello()->set_version(version);
  m.mutable_hello()->set_node_text_id(id);
  m.mutable_hello()->set_interface_id(9);
  return m;
}
ControlMessage ping() {
  ControlMessage m;
  m.mutable_ping()->set_nonce(3);
  return m;
}

TEST(ControlChannelTest, HelloThenMessages) {
  ControlChannel c(kPeer);
  int delivered = 0;
  Bytes stream = frame(hello());
  Bytes p = frame(ping());
  stream.insert(stream.end(), p.begin(), p.end());
  EXPECT_FALSE(c.receive(stream, false, [&](ControlMessage&) { ++delivered; }));
  EXPECT_EQ(delivered, 2);
  EXPECT_TRUE(c.hello_received());
  EXPECT_EQ(c.peer_hello().interface_id(), 9u);
}

TEST(ControlChannelTest, MessageBeforeHello) {
  ControlChannel c(kPeer);
  auto v = c.receive(frame(ping()), false, [](ControlMessage&) {});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->code, CloseCode::kProtocolViolation);
}

TEST(ControlChannelTest, HelloForAnotherNode) {
  ControlChannel c(kPeer);
  auto v = c.receive(frame(hello("aaaaaaaaaaaaaaaa")), false, [](ControlMessage&) {});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->code, CloseCode::kHelloMismatch);
}

TEST(ControlChannelTest, WrongVersion) {
  ControlChannel c(kPeer);
  auto v = c.receive(frame(hello(kPeer, 2)), false, [](ControlMessage&) {});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->code, CloseCode::kVersionMismatch);
}

TEST(ControlChannelTest, SecondHello) {
  ControlChannel c(kPeer);
  EXPECT_FALSE(c.receive(frame(hello()), false, [](ControlMessage&) {}));
  auto v = c.receive(frame(hello()), false, [](ControlMessage&) {});
  ASSERT_TRUE(v);
  EXPECT_EQ(v->code, CloseCode::kProtocolViolation);
}

TEST(ControlChannelTest, GarbageTruncationAndEnd) {
  {
    ControlChannel c(kPeer);
    auto v = c.receive(Bytes{0xde, 0xad, 0xbe, 0xef, 1, 2, 3}, false, [](ControlMessage&) {});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->code, CloseCode::kFrameTooLarge);
  }
  {
    ControlChannel c(kPeer);
    Bytes f = frame(hello());
    f.pop_back();
    auto v = c.receive(f, true, [](ControlMessage&) {});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->code, CloseCode::kBadFrame);
  }
  {
    ControlChannel c(kPeer);
    auto v = c.receive(frame(hello()), true, [](ControlMessage&) {});
    ASSERT_TRUE(v);
    EXPECT_EQ(v->code, CloseCode::kProtocolViolation);
  }
}

TEST(ControlChannelTest, UnknownBodyIsSkipped) {
  ControlChannel c(kPeer);
  EXPECT_FALSE(c.receive(frame(hello()), false, [](ControlMessage&) {}));
  // Field 5 (not defined yet): a newer peer's message.
  Bytes unknown = {0, 0, 0, 2, (5 << 3) | 0, 1};
  int delivered = 0;
  EXPECT_FALSE(c.receive(unknown, false, [&](ControlMessage&) { ++delivered; }));
  EXPECT_EQ(delivered, 0);
}

}  // namespace
}  // namespace qc::link

namespace qc::link {
namespace {

TEST(ControlChannelTest, PeerTextIsMadePrintable) {
  EXPECT_EQ(printable("ok text"), "ok text");
  EXPECT_EQ(printable(std::string("a\nb\x01\xff", 5)), "a?b??");
  EXPECT_EQ(printable(std::string(100, 'x'), 4), "xxxx...");
}

TEST(ControlChannelTest, InvalidUtf8TextIsNotAParseError) {
  ControlChannel c("");
  ControlMessage m;
  m.mutable_hello()->set_version(kProtocolVersion);
  m.mutable_hello()->set_node_text_id(std::string("\xff\xfe", 2));
  int delivered = 0;
  EXPECT_FALSE(c.receive(*encode_frame(m), false, [&](ControlMessage&) { ++delivered; }));
  EXPECT_EQ(delivered, 1);
}

}  // namespace
}  // namespace qc::link
