#include "peerdb/codec.h"

#include <gtest/gtest.h>

namespace qc::peerdb::codec {
namespace {

identity::PartialId pid(std::uint8_t b) {
  identity::PartialId p{};
  p.fill(b);
  return p;
}

TEST(PeerDbCodec, PeerRoundTrip) {
  Peer p;
  p.partial = pid(7);
  identity::NodeId id{};
  id.fill(7);
  id[31] = 9;
  p.node_id = id;
  p.cert_chain = {Bytes{1, 2, 3}, Bytes{4}};
  p.addresses = {{"10.0.0.1:7420", AddressKind::kBeacon, 55}, {"h:1", AddressKind::kStatic, 0}};
  p.last_seen_ms[0] = 11;
  p.last_seen_ms[3] = 44;
  p.first_seen_ms = 3;
  auto v = encode_peer(p);
  ASSERT_TRUE(v) << v.error().to_string();
  auto d = decode_peer(peer_key(p.partial), *v);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, p);
  EXPECT_EQ(d->last_activity_ms(), 55u);
}

TEST(PeerDbCodec, NodeIdMustMatchPartial) {
  Peer p;
  p.partial = pid(1);
  identity::NodeId id{};
  p.node_id = id;
  EXPECT_FALSE(encode_peer(p));
}

TEST(PeerDbCodec, EventAndRouteRoundTrip) {
  Event e{42, EventKind::kRelaySeen, pid(3), 0xdeadbeef, 1234, "via 10.0.0.1"};
  auto v = encode_event(e);
  ASSERT_TRUE(v);
  auto d = decode_event(event_key(42), *v);
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(*d, e);

  CachedRoute r{pid(5), 0, Bytes{9, 9, 9}, 3, 100, 200};
  r.route_id = fnv1a64(r.route);
  auto rv = encode_route(r);
  ASSERT_TRUE(rv);
  auto rd = decode_route(route_key(r.destination, r.route_id), *rv);
  ASSERT_TRUE(rd) << rd.error().to_string();
  EXPECT_EQ(*rd, r);
  // A route id that does not match the bytes is corruption.
  EXPECT_FALSE(decode_route(route_key(r.destination, r.route_id + 1), *rv));
}

TEST(PeerDbCodec, GarbageIsAnErrorNotACrash) {
  const Bytes key = peer_key(pid(2));
  EXPECT_FALSE(decode_peer(key, Bytes{}));
  EXPECT_FALSE(decode_peer(key, Bytes{2, 0}));           // unknown format
  EXPECT_FALSE(decode_peer(key, Bytes{1, 0xff, 0xff}));  // bad protobuf
  EXPECT_FALSE(decode_peer(Bytes{1, 2}, Bytes{1}));      // bad key
  EXPECT_FALSE(decode_event(Bytes{1}, Bytes{1}));
  EXPECT_FALSE(decode_route(Bytes{1}, Bytes{1}));
  // Every byte string up to 3 bytes, and a deterministic spray of longer ones.
  std::uint32_t x = 12345;
  for (int n = 0; n < 20000; ++n) {
    Bytes v(1 + n % 40);
    for (auto& b : v) {
      x = x * 1103515245 + 12345;
      b = static_cast<std::uint8_t>(x >> 16);
    }
    v[0] = 1;
    (void)decode_peer(key, v);
    (void)decode_event(event_key(1), v);
    (void)decode_route(route_key(pid(2), 1), v);
  }
}

}  // namespace
}  // namespace qc::peerdb::codec
