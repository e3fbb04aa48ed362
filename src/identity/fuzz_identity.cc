// libFuzzer target for the identity decoders (built with -DQC_FUZZ=ON and clang). The first input
// byte picks the decoder; the rest is its input. Every decoder must return an error on garbage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "identity/cert_report.h"
#include "identity/cert_tool.h"
#include "identity/identity.h"

namespace {

// A fixed Ed25519 CA to verify fuzzed chains against.
const qc::Bytes& ca_der() {
  static const qc::Bytes der = [] {
    auto ca = qc::identity::make_ca({.name = "fuzz CA"});
    if (!ca) return qc::Bytes{};
    auto certs = qc::identity::parse_pem_certs(ca->cert_pem);
    return certs ? certs->front() : qc::Bytes{};
  }();
  return der;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qc::identity;
  if (size < 1) return 0;
  qc::ByteView in(data + 1, size - 1);
  std::string_view text = qc::as_chars(in);
  std::int64_t now = 1'800'000'000;
  switch (data[0] % 6) {
    case 0:
      (void)parse_pem_certs(text);
      (void)parse_certs_any(text);
      break;
    case 1:
      (void)cert_info(in);
      (void)node_id_of_cert_der(in);
      (void)PublicKey::from_cert_der(in);
      (void)describe_cert(in, ca_der(), {}, "fuse", now);
      (void)verify_chain({qc::Bytes(in.begin(), in.end())}, ca_der(), now);
      break;
    case 2:
      (void)PrivateKey::from_pem(text);
      break;
    case 3:
      if (auto k = PublicKey::from_spki_der(in)) (void)k->verify(in, in);
      break;
    case 4:
      (void)parse_peer(text);
      (void)parse_text_id(text);
      break;
    default:
      if (auto certs = parse_pem_certs(text)) (void)verify_chain(*certs, ca_der(), now);
      break;
  }
  return 0;
}
