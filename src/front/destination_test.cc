#include "front/destination.h"

#include <gtest/gtest.h>

namespace qc::front {
namespace {

using socks5::Address;
using socks5::AddressType;

identity::NodeId test_node() {
  identity::NodeId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return id;
}

identity::ClusterId test_cluster() {
  identity::ClusterId c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0xa0 + i);
  return c;
}

Address domain(std::string name, std::uint16_t port = 80) {
  Address a;
  a.type = AddressType::kDomain;
  a.domain = std::move(name);
  a.port = port;
  return a;
}

DestinationPolicy policy(bool allow_direct = false) {
  DestinationPolicy p;
  p.cluster = test_cluster();
  p.allow_direct = allow_direct;
  return p;
}

void expect_mesh(const Address& a, const DestinationPolicy& p = policy()) {
  auto d = classify(a, p);
  ASSERT_TRUE(d) << a.to_string() << ": " << d.error().to_string();
  EXPECT_EQ(d->kind, Destination::Kind::kMesh) << a.to_string();
  EXPECT_TRUE(d->peer.matches(test_node())) << a.to_string();
  EXPECT_EQ(d->port(), a.port);
}

TEST(Destination, MeshNameForms) {
  auto id = test_node();
  std::string text = identity::text_id(id);
  expect_mesh(domain(text + ".fuse", 8080));
  expect_mesh(domain(text + ".FUSE."));
  expect_mesh(domain(text));
  expect_mesh(domain(to_hex(ByteView(id.data(), 10))));
  expect_mesh(domain(to_hex(ByteView(id.data(), 32))));
  std::string v6 =
      identity::ipv6_to_string(identity::address_of(test_cluster(), identity::partial_of(id)));
  expect_mesh(domain(v6));
  expect_mesh(domain("[" + v6 + "]"));
  Address a;
  a.type = AddressType::kIpv6;
  a.ipv6 = identity::address_of(test_cluster(), identity::partial_of(id));
  a.port = 22;
  expect_mesh(a);
}

TEST(Destination, OtherSuffixIsConfigurable) {
  DestinationPolicy p = policy();
  p.suffix = "mesh";
  expect_mesh(domain(identity::text_id(test_node()) + ".mesh"), p);
  auto fuse = classify(domain(identity::text_id(test_node()) + ".fuse"), p);
  ASSERT_FALSE(fuse);  // an outside name now, and direct traffic is off
  EXPECT_EQ(fuse.error().code, Errc::kLimit);
}

TEST(Destination, BadMeshNamesAreUnknownHosts) {
  identity::ClusterId other = test_cluster();
  other[0] ^= 1;
  Address foreign;
  foreign.type = AddressType::kIpv6;
  foreign.ipv6 = identity::address_of(other, identity::partial_of(test_node()));
  for (const Address& a :
       {domain("not-a-text-id.fuse"), domain("x.y.fuse"), foreign, domain("fdcc:zz::1")}) {
    auto d = classify(a, policy(true));
    ASSERT_FALSE(d) << a.to_string();
    EXPECT_EQ(d.error().code, Errc::kNotFound) << a.to_string();
  }
}

TEST(Destination, OutsideRefusedUnlessAllowed) {
  Address v4;
  v4.ipv4 = {93, 184, 216, 34};
  v4.port = 443;
  Address v6;
  v6.type = AddressType::kIpv6;
  v6.ipv6[0] = 0x20;
  v6.ipv6[1] = 0x01;
  for (const Address& a : {domain("example.com"), v4, v6, domain("localhost")}) {
    auto refused = classify(a, policy(false));
    ASSERT_FALSE(refused) << a.to_string();
    EXPECT_EQ(refused.error().code, Errc::kLimit);
    auto allowed = classify(a, policy(true));
    ASSERT_TRUE(allowed) << a.to_string();
    EXPECT_EQ(allowed->kind, Destination::Kind::kOutside);
    EXPECT_EQ(allowed->to_string(), a.to_string());
  }
}

TEST(Destination, ShortOrOddHexIsNotAPeer) {
  // 19 bytes of hex digits is no prefix length; 8 bytes is too short to name a peer.
  EXPECT_EQ(classify(domain(std::string(38, 'a') + "b"), policy()).error().code, Errc::kLimit);
  EXPECT_EQ(classify(domain("0123456789abcdef"), policy()).error().code, Errc::kLimit);
}

TEST(Destination, ResolvePeerNeedsExactlyOneMatch) {
  identity::NodeId a = test_node();
  identity::NodeId b = a;
  b[31] ^= 1;  // same first 31 bytes
  identity::NodeId c = a;
  c[0] ^= 1;
  std::vector<identity::NodeId> known = {a, b, c, a};
  identity::NodeIdPrefix ten{Bytes(a.begin(), a.begin() + 10)};
  auto ambiguous = resolve_peer(ten, known);
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code, Errc::kNotFound);
  identity::NodeIdPrefix full{Bytes(a.begin(), a.end())};
  auto one = resolve_peer(full, known);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, a);
  identity::NodeIdPrefix of_c{Bytes(c.begin(), c.begin() + 10)};
  EXPECT_EQ(*resolve_peer(of_c, known), c);
  identity::NodeIdPrefix none{Bytes(10, 0xff)};
  EXPECT_FALSE(resolve_peer(none, known));
}

}  // namespace
}  // namespace qc::front
