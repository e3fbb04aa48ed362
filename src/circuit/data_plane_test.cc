// DataPlane with an in-memory CircuitIo: forwarding, label swap, unknown labels, push-back.
#include "circuit/data_plane.h"

#include <gtest/gtest.h>

#include <map>

namespace qc::circuit {
namespace {

class FakeIo : public CircuitIo {
 public:
  SendStatus send_datagram(SessionId s, ByteView p) override {
    if (!up[s]) return SendStatus::kClosed;
    if (p.size() > room_of(s)) return SendStatus::kTooBig;
    if (blocked[s]) return SendStatus::kBlocked;
    sent[s].emplace_back(p.begin(), p.end());
    return SendStatus::kSent;
  }
  std::size_t datagram_room(SessionId s) override { return up[s] ? room_of(s) : 0; }
  Duration session_rtt(SessionId) override { return 250 * kMicrosecond; }
  std::optional<Hop> forward(SessionId s, Label l) override {
    auto it = routes.find({s, l});
    if (it == routes.end()) return std::nullopt;
    return it->second;
  }
  void touch(SessionId s, Label l, Timestamp) override { ++touches[{s, l}]; }
  std::size_t room_of(SessionId s) { return rooms.count(s) ? rooms[s] : 1404; }

  std::map<SessionId, bool> up, blocked;
  std::map<SessionId, std::size_t> rooms;
  std::map<SessionId, std::vector<Bytes>> sent;
  std::map<std::pair<SessionId, Label>, Hop> routes;
  std::map<std::pair<SessionId, Label>, int> touches;
};

class Sink : public CircuitReceiver {
 public:
  void on_circuit_packet(SessionId s, Label l, PacketType t, ByteView b, Timestamp) override {
    got.push_back({s, l, t, Bytes(b.begin(), b.end())});
  }
  void on_session_writable(SessionId, Timestamp) override { ++writable; }
  struct Got {
    SessionId s;
    Label l;
    PacketType t;
    Bytes body;
  };
  std::vector<Got> got;
  int writable = 0;
};

struct DataPlaneTest : ::testing::Test {
  DataPlaneTest() {
    io.up[1] = io.up[2] = true;
    io.routes[{1, 7}] = Hop{2, 300};  // 1-byte label in, 2-byte label out
    io.routes[{2, 300}] = Hop{1, 7};
  }
  FakeIo io;
  DataPlane dp{io, DataPlaneConfig{.queue_limit = 8, .touch_interval = kSecond}};
};

TEST_F(DataPlaneTest, SwapsLabelAndKeepsBody) {
  Bytes body(1000, 0xab);
  dp.on_datagram(1, *encode(7, PacketType::kData, body), kSecond);
  ASSERT_EQ(io.sent[2].size(), 1u);
  auto v = decode(io.sent[2][0]);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->label, 300);
  EXPECT_EQ(Bytes(v->body.begin(), v->body.end()), body);
  dp.on_datagram(2, *encode(300, PacketType::kData, body), kSecond);
  ASSERT_EQ(io.sent[1].size(), 1u);
  EXPECT_EQ(decode(io.sent[1][0])->label, 7);
  EXPECT_EQ(dp.stats().forwarded, 2u);
}

TEST_F(DataPlaneTest, UnknownAndMalformedAreDroppedAndCounted) {
  dp.on_datagram(1, *encode(8, PacketType::kData, Bytes{1}), kSecond);
  dp.on_datagram(3, *encode(7, PacketType::kData, Bytes{1}), kSecond);
  dp.on_datagram(1, Bytes{0x00, 0x00, 1}, kSecond);
  dp.on_datagram(1, Bytes{}, kSecond);
  EXPECT_EQ(dp.stats().unknown_label, 2u);
  EXPECT_EQ(dp.stats().malformed, 2u);
  EXPECT_TRUE(io.sent.empty());
}

TEST_F(DataPlaneTest, TouchesAtMostOncePerInterval) {
  for (int i = 0; i < 10; ++i)
    dp.on_datagram(1, *encode(7, PacketType::kData, Bytes{1}), kSecond + i);
  EXPECT_EQ((io.touches[{1, 7}]), 1);
  dp.on_datagram(1, *encode(7, PacketType::kData, Bytes{1}), 3 * kSecond);
  EXPECT_EQ((io.touches[{1, 7}]), 2);
}

TEST_F(DataPlaneTest, PushBackQueueDrainsInOrderAndIsBounded) {
  io.blocked[2] = true;
  for (std::uint8_t i = 0; i < 10; ++i)
    dp.on_datagram(1, *encode(7, PacketType::kData, Bytes{i}), kSecond);
  EXPECT_EQ(dp.queue_length(2), 8u);
  EXPECT_EQ(dp.stats().queue_drops, 2u);
  io.blocked[2] = false;
  dp.on_datagrams_writable(2, kSecond);
  ASSERT_EQ(io.sent[2].size(), 8u);
  for (std::uint8_t i = 0; i < 8; ++i) EXPECT_EQ(decode(io.sent[2][i])->body[0], i);
  EXPECT_EQ(dp.queue_length(2), 0u);
}

TEST_F(DataPlaneTest, TooBigForNextHopIsCounted) {
  io.rooms[2] = 500;
  dp.on_datagram(1, *encode(7, PacketType::kData, Bytes(600, 1)), kSecond);
  EXPECT_EQ(dp.stats().too_big, 1u);
  EXPECT_TRUE(io.sent[2].empty());
}

TEST_F(DataPlaneTest, LocalDeliveryAndSend) {
  Sink sink;
  dp.set_receiver(&sink);
  dp.add_local(1, 9);
  dp.on_datagram(1, *encode(9, PacketType::kData, Bytes{5, 6}), kSecond);
  ASSERT_EQ(sink.got.size(), 1u);
  EXPECT_EQ(sink.got[0].l, 9);
  EXPECT_EQ(sink.got[0].body, (Bytes{5, 6}));
  EXPECT_EQ(dp.send(1, 9, PacketType::kData, Bytes{1, 2}), SendStatus::kSent);
  EXPECT_EQ(dp.room(1, 9), 1404u - 2);
  EXPECT_EQ(dp.send(1, 9, PacketType::kData, Bytes(1403, 0)), SendStatus::kTooBig);
  io.blocked[1] = true;
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(dp.send(1, 9, PacketType::kData, Bytes{1}), SendStatus::kSent);
  EXPECT_FALSE(dp.can_send(1));
  EXPECT_EQ(dp.send(1, 9, PacketType::kData, Bytes{1}), SendStatus::kBlocked);
  io.blocked[1] = false;
  dp.on_datagrams_writable(1, kSecond);
  EXPECT_EQ(sink.writable, 1);
  EXPECT_TRUE(dp.can_send(1));
  dp.remove_local(1, 9);
  dp.on_datagram(1, *encode(9, PacketType::kData, Bytes{5, 6}), kSecond);
  EXPECT_EQ(dp.stats().unknown_label, 1u);
}

TEST_F(DataPlaneTest, RelayAppendsHopStatsButNotToReplies) {
  StatsBody s{.reply = false, .seq = 5, .hops = {}};
  dp.on_datagram(1, *encode(7, PacketType::kStats, encode_stats(s)), kSecond);
  ASSERT_EQ(io.sent[2].size(), 1u);
  auto v = decode(io.sent[2][0]);
  auto got = decode_stats(v->body);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->hops.size(), 1u);
  EXPECT_EQ(got->hops[0].hop, 1);
  EXPECT_EQ(got->hops[0].rtt_us, 250u);
  EXPECT_EQ(got->hops[0].room, 1404u - 3);
  s.reply = true;
  dp.on_datagram(1, *encode(7, PacketType::kStats, encode_stats(s)), kSecond);
  EXPECT_TRUE(decode_stats(decode(io.sent[2][1])->body)->hops.empty());
}

}  // namespace
}  // namespace qc::circuit
