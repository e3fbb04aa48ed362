#include "circuit/packet.h"

#include <gtest/gtest.h>

namespace qc::circuit {
namespace {

TEST(CircuitPacket, LabelSizes) {
  EXPECT_EQ(label_size(0), 0u);
  EXPECT_EQ(label_size(1), 1u);
  EXPECT_EQ(label_size(63), 1u);
  EXPECT_EQ(label_size(64), 2u);
  EXPECT_EQ(label_size(kMaxLabel), 2u);
  EXPECT_EQ(label_size(kMaxLabel + 1), 0u);
}

TEST(CircuitPacket, DataRoundTrip) {
  for (Label l : {Label{1}, Label{63}, Label{64}, Label{300}, kMaxLabel}) {
    Bytes body = {1, 2, 3, 4};
    auto p = encode(l, PacketType::kData, body);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->size(), header_size(l) + 4);
    auto v = decode(*p);
    ASSERT_TRUE(v) << v.error().to_string();
    EXPECT_EQ(v->label, l);
    EXPECT_EQ(v->label_len, label_size(l));
    EXPECT_EQ(v->type, PacketType::kData);
    EXPECT_EQ(Bytes(v->body.begin(), v->body.end()), body);
  }
  EXPECT_FALSE(encode(0, PacketType::kData, Bytes{1}));
}

TEST(CircuitPacket, StrictDecoding) {
  EXPECT_FALSE(decode(Bytes{}));
  EXPECT_FALSE(decode(Bytes{0x05}));                 // no type
  EXPECT_FALSE(decode(Bytes{0x00, 0x00, 1}));        // label 0
  EXPECT_FALSE(decode(Bytes{0x40, 0x05, 0, 1}));     // non-minimal 2-byte label
  EXPECT_FALSE(decode(Bytes{0x80, 0, 0, 5, 0, 1}));  // 4-byte varint
  EXPECT_FALSE(decode(Bytes{0x05, 0x03, 1}));        // unknown type
  EXPECT_FALSE(decode(Bytes{0x05, 0x00}));           // empty data
  EXPECT_FALSE(decode(Bytes{0x05, 0x02, 1}));        // wake with a body
  EXPECT_TRUE(decode(Bytes{0x05, 0x02}));
}

TEST(CircuitPacket, StatsRoundTrip) {
  StatsBody s;
  s.reply = true;
  s.seq = 123456;
  s.hops.push_back({1, 45, 3, 0, 1401});
  s.hops.push_back({2, 1'000'000, 1024, 99, 1200});
  Bytes b = encode_stats(s);
  auto d = decode_stats(b);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, s);
  Bytes trailing = b;
  trailing.push_back(0);
  EXPECT_FALSE(decode_stats(trailing));
  Bytes flags = b;
  flags[0] = 0x02;
  EXPECT_FALSE(decode_stats(flags));
  for (std::size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(decode_stats(ByteView(b.data(), n))) << n;
  }
  Bytes many = {0, 0, static_cast<std::uint8_t>(kMaxHops + 1)};
  EXPECT_FALSE(decode_stats(many));
}

}  // namespace
}  // namespace qc::circuit
