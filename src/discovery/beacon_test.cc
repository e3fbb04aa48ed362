#include "discovery/beacon.h"

#include <gtest/gtest.h>

namespace qc::discovery {
namespace {

identity::ClusterId cluster(std::uint8_t seed) {
  identity::ClusterId c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(seed + i);
  return c;
}
identity::PartialId partial(std::uint8_t seed) {
  identity::PartialId p{};
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(seed * 3 + i);
  return p;
}

TEST(Beacon, RoundTripEveryPrefixLength) {
  for (std::size_t n = kMinClusterPrefix; n <= kMaxClusterPrefix; ++n) {
    Beacon b = make_beacon(cluster(1), partial(2), 7420, n);
    auto wire = encode_beacon(b);
    ASSERT_TRUE(wire);
    EXPECT_EQ(wire->size(), 18 + n);
    auto back = decode_beacon(*wire);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, b);
  }
}

TEST(Beacon, KnownBytes) {
  Beacon b = make_beacon(cluster(0xa0), partial(0), 0x1cfc, 4);
  auto wire = encode_beacon(b);
  ASSERT_TRUE(wire);
  EXPECT_EQ(to_hex(*wire),
            "514342"
            "01"
            "00"
            "04"
            "a0a1a2a3"
            "00010203040506070809"
            "1cfc");
}

TEST(Beacon, EveryTruncationAndExtensionIsRejected) {
  auto wire = encode_beacon(make_beacon(cluster(1), partial(2), 7420));
  ASSERT_TRUE(wire);
  for (std::size_t len = 0; len < wire->size(); ++len) {
    EXPECT_FALSE(decode_beacon(ByteView(wire->data(), len))) << "length " << len;
  }
  Bytes longer = *wire;
  longer.push_back(0);
  EXPECT_FALSE(decode_beacon(longer));
}

TEST(Beacon, BadFieldsAreRejected) {
  const Bytes good = *encode_beacon(make_beacon(cluster(1), partial(2), 7420));
  Bytes b = good;
  b[0] = 'X';
  EXPECT_EQ(decode_beacon(b).error().code, Errc::kParse);
  b = good;
  b[3] = 2;
  EXPECT_EQ(decode_beacon(b).error().code, Errc::kUnsupported);
  b = good;
  b[3] = 0;
  EXPECT_FALSE(decode_beacon(b));
  for (std::uint8_t n : {0, 3, 9, 255}) {
    b = good;
    b[5] = n;
    EXPECT_FALSE(decode_beacon(b)) << int(n);
  }
  b = good;
  b[b.size() - 1] = 0;
  b[b.size() - 2] = 0;
  EXPECT_FALSE(decode_beacon(b));  // port 0
  Beacon z = make_beacon(cluster(1), partial(2), 0);
  EXPECT_FALSE(encode_beacon(z));
  z.quic_port = 1;
  z.cluster_prefix_len = 9;
  EXPECT_FALSE(encode_beacon(z));
}

TEST(Beacon, UnknownFlagsAreKept) {
  Beacon b = make_beacon(cluster(1), partial(2), 7420);
  b.flags = 0x80;
  auto back = decode_beacon(*encode_beacon(b));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->flags, 0x80);
}

TEST(Beacon, Classify) {
  const auto ours = cluster(1);
  const auto me = partial(9);
  EXPECT_EQ(classify(make_beacon(ours, partial(2), 1), ours, me), BeaconClass::kOurs);
  EXPECT_EQ(classify(make_beacon(ours, me, 1), ours, me), BeaconClass::kSelf);
  EXPECT_EQ(classify(make_beacon(cluster(2), partial(2), 1), ours, me), BeaconClass::kOtherCluster);
  // Another cluster that shares our first 4 bytes is told apart by an 8-byte prefix only.
  auto near = ours;
  near[6] ^= 1;
  EXPECT_EQ(classify(make_beacon(near, partial(2), 1, 8), ours, me), BeaconClass::kOtherCluster);
  EXPECT_EQ(classify(make_beacon(near, partial(2), 1, 4), ours, me), BeaconClass::kOurs);
}

TEST(Beacon, ArbitraryBytesNeverCrash) {
  std::uint32_t x = 7;
  const Bytes good = *encode_beacon(make_beacon(cluster(1), partial(2), 7420));
  for (int i = 0; i < 100000; ++i) {
    Bytes b = good;
    b.resize(i % 30);
    for (int k = 0; k < 3; ++k) {
      x = x * 1664525 + 1013904223;
      if (!b.empty()) b[(x >> 8) % b.size()] = static_cast<std::uint8_t>(x >> 24);
    }
    auto r = decode_beacon(b);
    if (r) {
      EXPECT_EQ(*encode_beacon(*r), b);
    }
  }
}

}  // namespace
}  // namespace qc::discovery
