// Decoders must return errors, never crash, on corrupted input (run under ASan/UBSan with
// -DQC_SANITIZE=ON). Deterministic mutations of valid fixtures: bit flips, truncations, splices.
#include <gtest/gtest.h>

#include <random>

#include "identity/cert_report.h"
#include "identity/cert_tool.h"
#include "identity/identity.h"
#include "identity/test_data.h"

namespace qc::identity {
namespace {

Bytes mutate(const Bytes& in, std::mt19937& rng) {
  Bytes b = in;
  switch (rng() % 4) {
    case 0:  // flip a few bits
      for (int i = 0; i < 1 + static_cast<int>(rng() % 4) && !b.empty(); ++i) {
        b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      }
      break;
    case 1:  // truncate
      b.resize(b.empty() ? 0 : rng() % b.size());
      break;
    case 2:  // overwrite a byte with a length-ish value
      if (!b.empty()) b[rng() % b.size()] = static_cast<std::uint8_t>(rng() % 2 ? 0xff : 0x81);
      break;
    default:  // duplicate a slice
      if (b.size() > 4) {
        std::size_t at = rng() % b.size(), len = rng() % (b.size() - at);
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), in.begin(),
                 in.begin() + static_cast<std::ptrdiff_t>(len));
      }
  }
  return b;
}

TEST(GarbageTest, CertificateDecoders) {
  auto chain = parse_pem_certs(testing::read_data("node-i-chain.crt"));
  auto ca = parse_pem_certs(testing::read_data("ca.crt"));
  ASSERT_TRUE(chain && ca);
  std::mt19937 rng(12345);
  int accepted = 0;
  for (int i = 0; i < 1500; ++i) {
    Bytes der = mutate((*chain)[i % 2], rng);
    (void)node_id_of_cert_der(der);
    (void)cert_info(der);
    (void)PublicKey::from_cert_der(der);
    (void)describe_cert(der, ca->front(), {}, "fuse", unix_seconds_now());
    std::vector<Bytes> c = *chain;
    c[i % 2] = der;
    if (verify_chain(c, ca->front(), unix_seconds_now())) ++accepted;
    (void)verify_chain(*chain, mutate(ca->front(), rng), unix_seconds_now());
  }
  // A bit flip may land in an unsigned or ignored spot; most mutations must be rejected.
  EXPECT_LT(accepted, 100);
}

TEST(GarbageTest, PemAndKeyDecoders) {
  std::mt19937 rng(777);
  for (const char* name : {"node-i-chain.crt", "node-a.key", "node-p256.key"}) {
    std::string text = testing::read_data(name);
    Bytes b(text.begin(), text.end());
    for (int i = 0; i < 400; ++i) {
      Bytes m = mutate(b, rng);
      std::string s(m.begin(), m.end());
      (void)parse_pem_certs(s);
      (void)parse_certs_any(s);
      (void)PrivateKey::from_pem(s);
      (void)PublicKey::from_spki_der(m);
    }
  }
}

TEST(GarbageTest, SignatureVerify) {
  auto key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key);
  auto sig = key->sign(as_bytes("hop"));
  ASSERT_TRUE(sig);
  std::mt19937 rng(99);
  for (int i = 0; i < 500; ++i) {
    Bytes m = mutate(*sig, rng);
    if (m != *sig) {
      EXPECT_FALSE(key->public_key().verify(as_bytes("hop"), m));
    }
  }
}

}  // namespace
}  // namespace qc::identity
