#include "transport/tls_context.h"

#include "identity/identity.h"

namespace qc::transport {

namespace {
gnutls_datum_t datum(const std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())),
                        static_cast<unsigned>(s.size())};
}
}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::create(const TlsCredentials& creds) {
  std::shared_ptr<TlsContext> ctx(new TlsContext());
  int rv = gnutls_certificate_allocate_credentials(&ctx->cred_);
  if (rv < 0)
    return Err(Errc::kCrypto, std::string("allocate credentials: ") + gnutls_strerror(rv));
  if (creds.allow_key_mismatch_for_tests) {
    gnutls_certificate_set_flags(ctx->cred_, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
  }
  gnutls_datum_t ca = datum(creds.ca_pem);
  rv = gnutls_certificate_set_x509_trust_mem(ctx->cred_, &ca, GNUTLS_X509_FMT_PEM);
  if (rv <= 0) {
    return Err(Errc::kCrypto,
               std::string("CA certificate: ") + (rv < 0 ? gnutls_strerror(rv) : "no certificate"));
  }
  gnutls_datum_t chain = datum(creds.chain_pem);
  gnutls_datum_t key = datum(creds.key_pem);
  rv = gnutls_certificate_set_x509_key_mem2(ctx->cred_, &chain, &key, GNUTLS_X509_FMT_PEM, nullptr,
                                            0);
  if (rv < 0) return Err(Errc::kCrypto, std::string("certificate and key: ") + gnutls_strerror(rv));
  return std::shared_ptr<const TlsContext>(std::move(ctx));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::from_identity(const identity::Identity& id) {
  return create(TlsCredentials{id.ca_pem(), id.chain_pem(), id.key_pem(), false});
}

TlsContext::~TlsContext() {
  if (cred_ != nullptr) gnutls_certificate_free_credentials(cred_);
}

}  // namespace qc::transport
