// Internal to qc_identity: RAII owners for GnuTLS handles and small conversion helpers.
// Not part of the public API; include only from src/identity/*.cc.
#pragma once

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::identity::detail {

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* p) const { gnutls_x509_crt_deinit(p); }
};
struct X509KeyDeleter {
  void operator()(gnutls_x509_privkey_int* p) const { gnutls_x509_privkey_deinit(p); }
};
struct PrivDeleter {
  void operator()(gnutls_privkey_st* p) const { gnutls_privkey_deinit(p); }
};
struct PubDeleter {
  void operator()(gnutls_pubkey_st* p) const { gnutls_pubkey_deinit(p); }
};
struct TrustDeleter {
  void operator()(gnutls_x509_trust_list_st* p) const { gnutls_x509_trust_list_deinit(p, 1); }
};

using Crt = std::unique_ptr<gnutls_x509_crt_int, CrtDeleter>;
using X509Key = std::unique_ptr<gnutls_x509_privkey_int, X509KeyDeleter>;
using Priv = std::unique_ptr<gnutls_privkey_st, PrivDeleter>;
using Pub = std::unique_ptr<gnutls_pubkey_st, PubDeleter>;
using Trust = std::unique_ptr<gnutls_x509_trust_list_st, TrustDeleter>;

// A gnutls_datum_t whose data GnuTLS allocated; freed with gnutls_free.
class OwnedDatum {
 public:
  OwnedDatum() = default;
  OwnedDatum(const OwnedDatum&) = delete;
  OwnedDatum& operator=(const OwnedDatum&) = delete;
  ~OwnedDatum() { gnutls_free(d_.data); }
  gnutls_datum_t* out() { return &d_; }
  ByteView view() const { return {d_.data, d_.size}; }
  Bytes bytes() const { return Bytes(d_.data, d_.data + d_.size); }
  std::string str() const { return std::string(reinterpret_cast<const char*>(d_.data), d_.size); }

 private:
  gnutls_datum_t d_{nullptr, 0};
};

// A datum that borrows `b` (GnuTLS takes const data through a non-const pointer).
inline gnutls_datum_t datum(ByteView b) {
  return gnutls_datum_t{const_cast<unsigned char*>(b.data()), static_cast<unsigned>(b.size())};
}

// "what: GnuTLS reason" as a kCrypto (or `code`) error.
inline Unexpected gnutls_err(int rv, std::string what, Errc code = Errc::kCrypto) {
  return Err(code, std::move(what) + ": " + gnutls_strerror(rv));
}

Result<Crt> new_crt();
// Imports one DER certificate. kParse on garbage.
Result<Crt> import_crt_der(ByteView der);
Result<Pub> new_pub();
// The DER SubjectPublicKeyInfo of a public key.
Result<Bytes> export_spki(gnutls_pubkey_t pub);
// verify_chain, optionally allowing the first certificate to be a CA (to check an issuer's own
// chain in cert_tool).
Result<void> verify_path(const std::vector<Bytes>& chain, ByteView ca_der, std::int64_t unix_now,
                         bool leaf_may_be_ca);
// "YYYY-MM-DD HH:MM:SS UTC"
std::string format_unix_time(std::int64_t t);
// Largest input the decoders accept (certificates, keys, PEM bundles): 1 MiB.
constexpr std::size_t kMaxInput = 1 << 20;

}  // namespace qc::identity::detail
