#include <gtest/gtest.h>

#include "identity/identity.h"
#include "identity/test_data.h"

namespace qc::identity {
namespace {

class KeysTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeysTest, SignVerify) {
  auto key = PrivateKey::generate(GetParam());
  ASSERT_TRUE(key) << key.error().to_string();
  EXPECT_EQ(key->type(), GetParam());
  auto pub = key->public_key();
  EXPECT_EQ(pub.type(), GetParam());
  Bytes msg = {1, 2, 3, 4, 5};
  auto sig = key->sign(msg);
  ASSERT_TRUE(sig) << sig.error().to_string();
  if (GetParam() == KeyType::kEd25519) {
    EXPECT_EQ(sig->size(), 64u);
  }
  EXPECT_TRUE(pub.verify(msg, *sig));

  Bytes tampered = *sig;
  tampered[tampered.size() / 2] ^= 1;
  auto r = pub.verify(msg, tampered);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kVerify);

  Bytes other_msg = {1, 2, 3, 4, 6};
  EXPECT_FALSE(pub.verify(other_msg, *sig));
  EXPECT_FALSE(pub.verify(msg, Bytes{}));
  EXPECT_FALSE(pub.verify(msg, Bytes(64, 0)));
  EXPECT_FALSE(pub.verify(msg, Bytes(3, 0x30)));
  EXPECT_FALSE(pub.verify(msg, Bytes(1000, 0xff)));

  // Another key's signature does not verify.
  auto other = PrivateKey::generate(GetParam());
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->public_key().verify(msg, *sig));

  // PEM round trip keeps the key, and the public key from SPKI verifies too.
  auto pem = key->to_pem();
  ASSERT_TRUE(pem);
  EXPECT_NE(pem->find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  auto again = PrivateKey::from_pem(*pem);
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->public_key().spki_der(), pub.spki_der());
  auto from_spki = PublicKey::from_spki_der(pub.spki_der());
  ASSERT_TRUE(from_spki);
  EXPECT_TRUE(from_spki->verify(msg, *sig));
  EXPECT_EQ(from_spki->node_id(), pub.node_id());
}

INSTANTIATE_TEST_SUITE_P(Types, KeysTest, ::testing::Values(KeyType::kEd25519, KeyType::kEcdsaP256),
                         [](const ::testing::TestParamInfo<KeyType>& p) {
                           return p.param == KeyType::kEd25519 ? "Ed25519" : "P256";
                         });

// Keys written by certtool (with text before the PEM block) load and match their certificates.
TEST(KeysFixtureTest, CerttoolKeysMatchCerts) {
  for (std::string name : {"node-a", "node-p256", "ca", "ca-p256"}) {
    SCOPED_TRACE(name);
    auto key = PrivateKey::from_pem(testing::read_data(name + ".key"));
    ASSERT_TRUE(key) << key.error().to_string();
    auto certs = parse_pem_certs(testing::read_data(name + ".crt"));
    ASSERT_TRUE(certs);
    auto pub = PublicKey::from_cert_der(certs->front());
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->spki_der(), key->public_key().spki_der());
    EXPECT_EQ(pub->type(),
              name.find("p256") != std::string::npos ? KeyType::kEcdsaP256 : KeyType::kEd25519);
    auto sig = key->sign(as_bytes("probe hop"));
    ASSERT_TRUE(sig);
    EXPECT_TRUE(pub->verify(as_bytes("probe hop"), *sig));
  }
}

TEST(KeysGarbageTest, RejectsGarbageKeys) {
  std::string good = *PrivateKey::generate(KeyType::kEd25519)->to_pem();
  std::string truncated = good.substr(0, good.size() / 2);
  std::string corrupted = good;
  corrupted[40] = corrupted[40] == 'A' ? 'B' : 'A';
  for (const std::string& s :
       {std::string(), std::string("hello"), std::string("-----BEGIN PRIVATE KEY-----\n"),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), truncated,
        corrupted, std::string(5000, '\0'), testing::read_data("ca.crt")}) {
    auto k = PrivateKey::from_pem(s);
    EXPECT_FALSE(k);
  }
  EXPECT_FALSE(PublicKey::from_spki_der(Bytes{}));
  EXPECT_FALSE(PublicKey::from_spki_der(Bytes{0x30, 0x03, 0x01, 0x01, 0x00}));
  EXPECT_FALSE(PublicKey::from_cert_der(Bytes(100, 0x30)));
  PublicKey empty;
  EXPECT_FALSE(empty.verify(Bytes{1}, Bytes(64, 0)));
  PrivateKey none;
  EXPECT_FALSE(none.sign(Bytes{1}));
}

}  // namespace
}  // namespace qc::identity
