#include <gtest/gtest.h>

#include "identity/identity.h"
#include "identity/test_data.h"

namespace qc::identity {
namespace {

using testing::read_data;

std::vector<Bytes> certs(const std::string& name) {
  auto c = parse_pem_certs(read_data(name));
  EXPECT_TRUE(c) << name << ": " << c.error().to_string();
  return c ? *c : std::vector<Bytes>{};
}

const std::int64_t kNow = unix_seconds_now();

TEST(ChainTest, GoodChains) {
  Bytes ca = certs("ca.crt").front();
  EXPECT_TRUE(verify_chain(certs("node-a.crt"), ca, kNow));
  EXPECT_TRUE(verify_chain(certs("node-p256.crt"), ca, kNow));
  auto r = verify_chain(certs("node-i-chain.crt"), ca, kNow);
  EXPECT_TRUE(r) << r.error().to_string();
}

TEST(ChainTest, Rejections) {
  Bytes ca = certs("ca.crt").front();
  auto other = verify_chain(certs("other-node.crt"), ca, kNow);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, Errc::kVerify);
  // An intermediate's leaf without the intermediate.
  EXPECT_FALSE(verify_chain(certs("node-i.crt"), ca, kNow));
  auto expired = verify_chain(certs("expired.crt"), ca, kNow);
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::kExpired);
  EXPECT_NE(expired.error().message.find("expired on 2021-01-01"), std::string::npos)
      << expired.error().message;
  // Before the activation of node-a: not yet valid.
  auto early = verify_chain(certs("node-a.crt"), ca, 1'000'000'000);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, Errc::kExpired);
  // A CA certificate is not a node certificate.
  EXPECT_FALSE(verify_chain(certs("ca.crt"), ca, kNow));
  EXPECT_FALSE(verify_chain({}, ca, kNow));
  EXPECT_FALSE(verify_chain(certs("node-a.crt"), Bytes(10, 1), kNow));
  EXPECT_FALSE(verify_chain({Bytes(50, 0x30)}, ca, kNow));
}

TEST(ChainTest, CertInfo) {
  auto info = cert_info(certs("node-a.crt").front());
  ASSERT_TRUE(info);
  EXPECT_EQ(info->common_name, "node-a");
  EXPECT_FALSE(info->is_ca);
  EXPECT_TRUE(info->key_supported);
  EXPECT_EQ(info->key_type, KeyType::kEd25519);
  EXPECT_EQ(to_hex(info->spki_hash), testing::expected()["node-a.crt"]["spki_sha256"]);
  auto ca = cert_info(certs("ca.crt").front());
  ASSERT_TRUE(ca);
  EXPECT_TRUE(ca->is_ca);
  EXPECT_TRUE(ca->self_signed);
  auto inter = cert_info(certs("inter.crt").front());
  ASSERT_TRUE(inter);
  EXPECT_TRUE(inter->is_ca);
  EXPECT_FALSE(inter->self_signed);
  auto p256 = cert_info(certs("node-p256.crt").front());
  ASSERT_TRUE(p256);
  EXPECT_EQ(p256->key_type, KeyType::kEcdsaP256);
}

TEST(ChainTest, PemGarbage) {
  EXPECT_FALSE(parse_pem_certs(""));
  EXPECT_FALSE(parse_pem_certs("garbage"));
  EXPECT_FALSE(parse_pem_certs("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  std::string good = read_data("ca.crt");
  EXPECT_FALSE(parse_pem_certs(good.substr(0, good.size() / 2)));
  EXPECT_FALSE(node_id_of_cert_der(Bytes{}));
  EXPECT_FALSE(cert_info(Bytes(3, 0xff)));
  EXPECT_EQ(certs("node-i-chain.crt").size(), 2u);
}

TEST(IdentityTest, LoadGood) {
  std::string d = testing::data_dir();
  auto id = Identity::load({d + "ca.crt", d + "node-a.crt", d + "node-a.key"});
  ASSERT_TRUE(id) << id.error().to_string();
  auto exp = testing::expected();
  EXPECT_EQ(to_hex(id->node_id()), exp["node-a.crt"]["spki_sha256"]);
  EXPECT_EQ(id->text_id(), exp["node-a.crt"]["text_id"]);
  EXPECT_EQ(ipv6_to_string(id->address()), exp["node-a.crt"]["ipv6"]);
  EXPECT_EQ(to_hex(id->cluster_id()), exp["ca.crt"]["spki_sha256"]);
  EXPECT_EQ(id->hostname(), exp["node-a.crt"]["text_id"] + ".fuse");
  auto sig = id->sign(as_bytes("x"));
  ASSERT_TRUE(sig);
  EXPECT_TRUE(id->public_key().verify(as_bytes("x"), *sig));

  // verify_peer: the intermediate's node is a peer; the other CA's is not.
  auto peer = id->verify_peer(certs("node-i-chain.crt"));
  ASSERT_TRUE(peer) << peer.error().to_string();
  EXPECT_EQ(to_hex(*peer), exp["node-i.crt"]["spki_sha256"]);
  EXPECT_FALSE(id->verify_peer(certs("other-node.crt")));
  EXPECT_FALSE(id->verify_peer(certs("expired.crt")));

  auto via_inter = Identity::load({d + "ca.crt", d + "node-i-chain.crt", d + "node-i.key"});
  EXPECT_TRUE(via_inter) << via_inter.error().to_string();
}

TEST(IdentityTest, LoadRejects) {
  std::string d = testing::data_dir();
  auto mismatch = Identity::load({d + "ca.crt", d + "node-a.crt", d + "node-p256.key"});
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, Errc::kVerify);
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos);
  EXPECT_FALSE(Identity::load({d + "other-ca.crt", d + "node-a.crt", d + "node-a.key"}));
  auto expired = Identity::load({d + "ca.crt", d + "expired.crt", d + "expired.key"});
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, Errc::kExpired);
  auto missing = Identity::load({d + "nope.crt", d + "node-a.crt", d + "node-a.key"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::kNotFound);
  EXPECT_NE(missing.error().message.find("nope.crt"), std::string::npos);
  // A leaf given as the CA.
  EXPECT_FALSE(Identity::load({d + "node-a.crt", d + "node-a.crt", d + "node-a.key"}));
  EXPECT_FALSE(Identity::from_pem("", "", ""));
}

}  // namespace
}  // namespace qc::identity
