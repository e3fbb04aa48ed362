#include "routing/route_codec.h"

#include <gtest/gtest.h>

#include "routing/testing/fake_crypto.h"

namespace qc::routing {
namespace {

struct Fixture {
  testing::FakeKeyRegistry reg{1};
  std::vector<NodeId> ids;
  Fixture() {
    for (int i = 0; i < 5; ++i) ids.push_back(reg.add());
  }
  Route make(int hops) {
    Route r;
    r.set_originator(id_bytes(ids[0]));
    r.set_nonce(7);
    r.set_destination(id_bytes(partial_of(ids[4])));
    r.set_expiry_ms(1000);
    for (int i = 0; i < hops; ++i) {
      testing::FakeSigner s(reg, ids[static_cast<std::size_t>(i)]);
      HopFields f;
      f.partial = partial_of(ids[static_cast<std::size_t>(i)]);
      f.backward_interface = i == 0 ? 0 : 3;
      f.forward_interface = 4;
      f.timestamp_ms = 500;
      f.next = partial_of(ids[static_cast<std::size_t>(i + 1)]);
      EXPECT_TRUE(append_signed_hop(r, f, s));
    }
    return r;
  }
};

TEST(RouteCodec, SignedRouteVerifies) {
  Fixture fx;
  testing::FakeKeyDirectory keys(fx.reg, fx.ids[4], true);
  Route r = fx.make(4);
  EXPECT_TRUE(check_route_structure(r, 16));
  EXPECT_EQ(verify_route(r, keys, nullptr, nullptr), VerifyOutcome::kOk);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(verify_hop(r, i, *keys.find(partial_of(fx.ids[static_cast<std::size_t>(i)]))));
  }
}

TEST(RouteCodec, AnyChangedByteBreaksASignature) {
  Fixture fx;
  testing::FakeKeyDirectory keys(fx.reg, fx.ids[4], true);
  const Route good = fx.make(4);
  std::string wire;
  good.SerializeToString(&wire);
  int rejected = 0, tried = 0;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    std::string w = wire;
    w[i] = static_cast<char>(w[i] ^ 0x01);
    Route r;
    if (!r.ParseFromString(w)) continue;
    ++tried;
    if (!check_route_structure(r, 16) ||
        verify_route(r, keys, nullptr, nullptr) != VerifyOutcome::kOk)
      ++rejected;
  }
  EXPECT_GT(tried, 100);
  EXPECT_EQ(rejected, tried);
}

TEST(RouteCodec, UnknownKeysAreListed) {
  Fixture fx;
  testing::FakeKeyDirectory keys(fx.reg, fx.ids[4], false);
  keys.introduce(fx.ids[0]);
  std::vector<PartialId> unknown;
  EXPECT_EQ(verify_route(fx.make(3), keys, nullptr, &unknown), VerifyOutcome::kUnknownKey);
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0], partial_of(fx.ids[1]));
  EXPECT_EQ(unknown[1], partial_of(fx.ids[2]));
}

TEST(RouteCodec, VerifiedCacheSkipsKnownPrefixesButNotChangedOnes) {
  Fixture fx;
  testing::FakeKeyDirectory keys(fx.reg, fx.ids[4], true);
  VerifiedCache cache(SipKey{1, 2}, 64);
  Route r = fx.make(3);
  EXPECT_EQ(verify_route(r, keys, &cache, nullptr), VerifyOutcome::kOk);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(verify_route(fx.make(4), keys, &cache, nullptr), VerifyOutcome::kOk);
  EXPECT_EQ(cache.size(), 4u);  // only the new hop was checked and added
  Route bad = fx.make(4);
  bad.mutable_hops(3)->set_timestamp_ms(1);
  EXPECT_EQ(verify_route(bad, keys, &cache, nullptr), VerifyOutcome::kBadSignature);
}

TEST(RouteCodec, StructureChecks) {
  Fixture fx;
  Route r = fx.make(3);
  EXPECT_FALSE(check_route_structure(r, 2));
  Route twice = r;
  *twice.add_hops() = r.hops(1);
  twice.mutable_hops(2)->set_next_partial_id(r.hops(1).partial_id());
  EXPECT_FALSE(check_route_structure(twice, 16));
  Route noorig = r;
  noorig.set_originator(id_bytes(fx.ids[1]));
  EXPECT_FALSE(check_route_structure(noorig, 16));
  Route shortid = r;
  shortid.mutable_hops(1)->set_partial_id("abc");
  EXPECT_FALSE(check_route_structure(shortid, 16));
}

TEST(RouteCodec, EstablishBytesCoverRouteAndFields) {
  Fixture fx;
  RouteEstablish a;
  *a.mutable_route() = fx.make(2);
  a.set_destination_id(id_bytes(fx.ids[4]));
  a.set_backward_interface(5);
  a.set_timestamp_ms(9);
  RouteEstablish b = a;
  b.set_backward_interface(6);
  RouteEstablish c = a;
  c.mutable_route()->mutable_hops(1)->set_forward_interface(1);
  EXPECT_NE(establish_signed_bytes(a), establish_signed_bytes(b));
  EXPECT_NE(establish_signed_bytes(a), establish_signed_bytes(c));
  RouteEstablish d = a;
  d.set_signature("ignored");
  EXPECT_EQ(establish_signed_bytes(a), establish_signed_bytes(d));
}

TEST(SipHash, ReferenceVector) {
  // SipHash-2-4 test vector from the paper: key 00..0f, message 00..0e -> a129ca6149be45e5.
  SipKey k{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  Bytes m(15);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(i);
  EXPECT_EQ(siphash(k, m), 0xa129ca6149be45e5ULL);
}

}  // namespace
}  // namespace qc::routing
