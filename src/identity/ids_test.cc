#include <gtest/gtest.h>

#include "identity/identity.h"
#include "identity/test_data.h"

namespace qc::identity {
namespace {

NodeId node_id_of_file(const std::string& name) {
  auto certs = parse_pem_certs(testing::read_data(name));
  EXPECT_TRUE(certs) << certs.error().to_string();
  auto id = node_id_of_cert_der(certs->front());
  EXPECT_TRUE(id) << id.error().to_string();
  return *id;
}

// Node id, cluster id, text id and IPv6 against values computed by openssl/basenc/python.
TEST(IdsTest, MatchesIndependentVectors) {
  auto exp = testing::expected();
  ASSERT_GE(exp.size(), 9u);
  ClusterId cluster = node_id_of_file("ca.crt");
  EXPECT_EQ(to_hex(cluster), exp["ca.crt"]["spki_sha256"]);
  for (auto& [file, kv] : exp) {
    SCOPED_TRACE(file);
    NodeId id = node_id_of_file(file);
    EXPECT_EQ(to_hex(id), kv["spki_sha256"]);
    EXPECT_EQ(text_id(id), kv["text_id"]);
    if (kv.count("ipv6")) {
      EXPECT_EQ(ipv6_to_string(address_of(cluster, partial_of(id))), kv["ipv6"]);
    }
    if (kv.count("prefix")) {
      EXPECT_EQ(cluster_prefix(id), kv["prefix"]);
    }
  }
}

TEST(IdsTest, TextIdRoundTrip) {
  PartialId p{};
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i * 37 + 1);
  std::string t = text_id(p);
  EXPECT_EQ(t.size(), kTextIdSize);
  auto back = parse_text_id(t);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
  std::string upper = t;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(parse_text_id(upper));
  EXPECT_FALSE(parse_text_id("short"));
  EXPECT_FALSE(parse_text_id("0000000000000000"));  // 0, 1, 8, 9 are not base32
}

TEST(IdsTest, HostnameAndPrefix) {
  PartialId p{};
  EXPECT_EQ(hostname(p), "aaaaaaaaaaaaaaaa.fuse");
  EXPECT_EQ(hostname(p, "mesh"), "aaaaaaaaaaaaaaaa.mesh");
  ClusterId c{};
  c[0] = 0xab;
  c[1] = 0xcd;
  EXPECT_EQ(cluster_prefix(c), "fdcc:abcd::/48");  // canonical: zeros compressed
  Ipv6 a = address_of(c, p);
  EXPECT_EQ(ipv6_to_string(a), "fdcc:abcd::");
}

class ParsePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto exp = testing::expected();
    cluster_ = node_id_of_file("ca.crt");
    id_ = node_id_of_file("node-a.crt");
    text_ = exp["node-a.crt"]["text_id"];
    ipv6_ = exp["node-a.crt"]["ipv6"];
    hex_ = exp["node-a.crt"]["spki_sha256"];
  }
  ClusterId cluster_{};
  NodeId id_{};
  std::string text_, ipv6_, hex_;
};

TEST_F(ParsePeerTest, AcceptsEveryForm) {
  for (const std::string& s : {text_, text_ + ".fuse", text_ + ".FUSE", text_ + ".fuse.", ipv6_,
                               "[" + ipv6_ + "]", hex_.substr(0, 20), hex_, hex_.substr(0, 40)}) {
    SCOPED_TRACE(s);
    auto r = parse_peer(s, "fuse", &cluster_);
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->matches(id_));
    EXPECT_EQ(r->partial(), partial_of(id_));
  }
  auto full = parse_peer(hex_);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->bytes.size(), 32u);
  std::string upper = text_;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(parse_peer(upper));
}

TEST_F(ParsePeerTest, RejectsGarbage) {
  for (const std::string& s : std::vector<std::string>{
           std::string(), std::string("x"), text_ + ".mesh", std::string("[") + ipv6_, "[::1]",
           "2001:db8::1", "fdcc:zz::1", hex_.substr(0, 18), hex_ + "00", hex_.substr(0, 19) + "g",
           std::string(300, 'a'), std::string("abcdefghijklmno1"), std::string(".fuse"),
           std::string("\xff\xfe\x00", 3)}) {
    SCOPED_TRACE(s);
    auto r = parse_peer(s, "fuse", &cluster_);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kParse);
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST_F(ParsePeerTest, WrongClusterRejected) {
  ClusterId other = cluster_;
  other[0] ^= 1;
  auto r = parse_peer(ipv6_, "fuse", &other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("another cluster"), std::string::npos);
  EXPECT_TRUE(parse_peer(ipv6_, "fuse", nullptr));  // no cluster given: any fdcc address
}

TEST(PrefixTest, MatchesOnlyItsIds) {
  NodeId id{};
  id[0] = 1;
  NodeIdPrefix p{std::vector<std::uint8_t>(id.begin(), id.begin() + 12)};
  EXPECT_TRUE(p.matches(id));
  id[11] = 9;
  EXPECT_FALSE(p.matches(id));
  NodeIdPrefix too_short{{1, 2, 3}};
  EXPECT_FALSE(too_short.matches(id));
}

}  // namespace
}  // namespace qc::identity
