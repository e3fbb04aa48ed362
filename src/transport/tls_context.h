// TLS credentials shared by every connection of a node: our chain and key, and the CA we trust.
//
// A TlsContext is immutable after create() and may be shared (shared_ptr) by any number of
// connections on the owning event-loop thread. GnuTLS credentials are read-only during handshakes.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace qc::identity {
class Identity;
}

namespace qc::transport {

struct TlsCredentials {
  std::string ca_pem;     // the cluster root (ca.crt): the only trust anchor
  std::string chain_pem;  // our leaf first, then intermediates (cert.crt)
  std::string key_pem;    // the leaf's private key (key.pem)
  // Test hook: present the chain even when key_pem does not match its leaf (the peer must then
  // refuse us). Never set outside tests.
  bool allow_key_mismatch_for_tests = false;
};

class TlsContext {
 public:
  // kCrypto with GnuTLS's reason when the PEM cannot be loaded or the key does not match.
  static Result<std::shared_ptr<const TlsContext>> create(const TlsCredentials& creds);
  static Result<std::shared_ptr<const TlsContext>> from_identity(const identity::Identity& id);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  gnutls_certificate_credentials_t credentials() const { return cred_; }

 private:
  TlsContext() = default;
  gnutls_certificate_credentials_t cred_ = nullptr;
};

}  // namespace qc::transport
