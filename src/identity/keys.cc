// PublicKey and PrivateKey over GnuTLS abstract keys.
#include <algorithm>

#include "identity/gnutls_util.h"
#include "identity/identity.h"

namespace qc::identity {

using detail::datum;
using detail::gnutls_err;
using detail::OwnedDatum;

namespace detail {

Result<Crt> new_crt() {
  gnutls_x509_crt_t c = nullptr;
  if (int rv = gnutls_x509_crt_init(&c); rv < 0) return gnutls_err(rv, "certificate init");
  return Crt(c);
}

Result<Crt> import_crt_der(ByteView der) {
  if (der.empty()) return Err(Errc::kParse, "empty certificate");
  if (der.size() > kMaxInput) return Err(Errc::kTooLarge, "certificate larger than 1 MiB");
  auto c = new_crt();
  if (!c) return Err(c.error());
  gnutls_datum_t d = datum(der);
  if (int rv = gnutls_x509_crt_import(c->get(), &d, GNUTLS_X509_FMT_DER); rv < 0) {
    return gnutls_err(rv, "not a DER X.509 certificate", Errc::kParse);
  }
  return std::move(*c);
}

Result<Pub> new_pub() {
  gnutls_pubkey_t p = nullptr;
  if (int rv = gnutls_pubkey_init(&p); rv < 0) return gnutls_err(rv, "public key init");
  return Pub(p);
}

Result<Bytes> export_spki(gnutls_pubkey_t pub) {
  OwnedDatum out;
  if (int rv = gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, out.out()); rv < 0) {
    return gnutls_err(rv, "exporting the public key");
  }
  return out.bytes();
}

}  // namespace detail

namespace {

// The key type of a GnuTLS public key; kUnsupported for anything but Ed25519 and ECDSA P-256.
Result<KeyType> key_type_of(gnutls_pubkey_t pub) {
  int algo = gnutls_pubkey_get_pk_algorithm(pub, nullptr);
  if (algo == GNUTLS_PK_EDDSA_ED25519) return KeyType::kEd25519;
  if (algo == GNUTLS_PK_ECDSA) {
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    OwnedDatum x, y;
    if (int rv = gnutls_pubkey_export_ecc_raw2(pub, &curve, x.out(), y.out(), 0); rv < 0) {
      return gnutls_err(rv, "reading the ECDSA curve", Errc::kParse);
    }
    if (curve == GNUTLS_ECC_CURVE_SECP256R1) return KeyType::kEcdsaP256;
    return Err(Errc::kUnsupported, std::string("ECDSA curve ") + gnutls_ecc_curve_get_name(curve) +
                                       " is not supported; use Ed25519 or ECDSA P-256");
  }
  const char* name = gnutls_pk_get_name(static_cast<gnutls_pk_algorithm_t>(algo));
  return Err(Errc::kUnsupported, std::string("key algorithm ") + (name ? name : "unknown") +
                                     " is not supported; use Ed25519 or ECDSA P-256");
}

gnutls_sign_algorithm_t sign_algo(KeyType t) {
  return t == KeyType::kEd25519 ? GNUTLS_SIGN_EDDSA_ED25519 : GNUTLS_SIGN_ECDSA_SHA256;
}

constexpr std::size_t kEd25519SigSize = 64;
constexpr std::size_t kMaxEcdsaP256SigSize = 72;  // DER SEQUENCE of two 33-byte INTEGERs

}  // namespace

// ---- PublicKey ----

struct PublicKey::Impl {
  detail::Pub pub;  // imported once; verify() reuses it
};

Result<PublicKey> PublicKey::from_cert_der(ByteView cert_der) {
  auto crt = detail::import_crt_der(cert_der);
  if (!crt) return Err(crt.error());
  auto pub = detail::new_pub();
  if (!pub) return Err(pub.error());
  if (int rv = gnutls_pubkey_import_x509(pub->get(), crt->get(), 0); rv < 0) {
    return gnutls_err(rv, "reading the certificate's public key", Errc::kParse);
  }
  PublicKey k;
  auto t = key_type_of(pub->get());
  if (!t) return Err(t.error());
  auto spki = detail::export_spki(pub->get());
  if (!spki) return Err(spki.error());
  k.type_ = *t;
  k.spki_ = std::move(*spki);
  k.impl_ = std::make_shared<const Impl>(Impl{std::move(*pub)});
  return k;
}

Result<PublicKey> PublicKey::from_spki_der(ByteView spki_der) {
  if (spki_der.empty()) return Err(Errc::kParse, "empty public key");
  if (spki_der.size() > detail::kMaxInput) return Err(Errc::kTooLarge, "public key too large");
  auto pub = detail::new_pub();
  if (!pub) return Err(pub.error());
  gnutls_datum_t d = datum(spki_der);
  if (int rv = gnutls_pubkey_import(pub->get(), &d, GNUTLS_X509_FMT_DER); rv < 0) {
    return gnutls_err(rv, "not a DER SubjectPublicKeyInfo", Errc::kParse);
  }
  auto t = key_type_of(pub->get());
  if (!t) return Err(t.error());
  auto spki = detail::export_spki(pub->get());
  if (!spki) return Err(spki.error());
  PublicKey k;
  k.type_ = *t;
  k.spki_ = std::move(*spki);
  k.impl_ = std::make_shared<const Impl>(Impl{std::move(*pub)});
  return k;
}

Result<void> PublicKey::verify(ByteView data, ByteView signature) const {
  if (!impl_) return Err(Errc::kInvalidArgument, "verify with an empty public key");
  if (signature.empty()) return Err(Errc::kVerify, "empty signature");
  if (type_ == KeyType::kEd25519 && signature.size() != kEd25519SigSize) {
    return Err(Errc::kVerify, "an Ed25519 signature has 64 bytes, this one has " +
                                  std::to_string(signature.size()));
  }
  if (type_ == KeyType::kEcdsaP256 && signature.size() > kMaxEcdsaP256SigSize) {
    return Err(Errc::kVerify, "ECDSA P-256 signature too long");
  }
  gnutls_datum_t d = datum(data);
  gnutls_datum_t s = datum(signature);
  int rv = gnutls_pubkey_verify_data2(impl_->pub.get(), sign_algo(type_), 0, &d, &s);
  if (rv < 0) return gnutls_err(rv, "signature does not verify", Errc::kVerify);
  return Ok();
}

NodeId PublicKey::node_id() const {
  return sha256(spki_);
}

// ---- PrivateKey ----

namespace detail {
struct KeyAccess {
  static Result<PrivateKey> from_x509(X509Key key);
};
}  // namespace detail

struct PrivateKey::Impl {
  detail::X509Key x509;  // owns the key material (for export)
  detail::Priv priv;     // abstract handle over x509, for signing
  KeyType type;
  PublicKey pub;
};

Result<PrivateKey> PrivateKey::generate(KeyType type) {
  gnutls_x509_privkey_t x = nullptr;
  if (int rv = gnutls_x509_privkey_init(&x); rv < 0) return gnutls_err(rv, "private key init");
  detail::X509Key key(x);
  int rv = type == KeyType::kEd25519
               ? gnutls_x509_privkey_generate(x, GNUTLS_PK_EDDSA_ED25519, 0, 0)
               : gnutls_x509_privkey_generate(x, GNUTLS_PK_ECDSA,
                                              GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
  if (rv < 0) return gnutls_err(rv, "generating a key");
  return detail::KeyAccess::from_x509(std::move(key));
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  if (pem.empty()) return Err(Errc::kParse, "the private key file is empty");
  if (pem.size() > detail::kMaxInput) return Err(Errc::kTooLarge, "private key larger than 1 MiB");
  if (pem.find("-----BEGIN") == std::string_view::npos) {
    return Err(Errc::kParse, "no PEM block found; expected \"-----BEGIN PRIVATE KEY-----\"");
  }
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return Err(Errc::kUnsupported,
               "the private key is encrypted; store it unencrypted with mode 0600 (e.g. "
               "`certtool --to-p8 --empty-password`)");
  }
  gnutls_x509_privkey_t x = nullptr;
  if (int rv = gnutls_x509_privkey_init(&x); rv < 0) return gnutls_err(rv, "private key init");
  detail::X509Key key(x);
  std::string copy(pem);  // NUL-terminated for GnuTLS's PEM scanner
  gnutls_datum_t d{reinterpret_cast<unsigned char*>(copy.data()),
                   static_cast<unsigned>(copy.size())};
  if (int rv = gnutls_x509_privkey_import2(x, &d, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN);
      rv < 0) {
    return gnutls_err(rv, "not a readable PEM private key", Errc::kParse);
  }
  return detail::KeyAccess::from_x509(std::move(key));
}

// Builds a PrivateKey around an x509 private key (checks it and its type).
Result<PrivateKey> detail::KeyAccess::from_x509(detail::X509Key key) {
  if (int rv = gnutls_x509_privkey_verify_params(key.get()); rv < 0) {
    return gnutls_err(rv, "the private key is inconsistent", Errc::kParse);
  }
  gnutls_privkey_t p = nullptr;
  if (int rv = gnutls_privkey_init(&p); rv < 0) return gnutls_err(rv, "private key init");
  detail::Priv priv(p);
  if (int rv = gnutls_privkey_import_x509(p, key.get(), 0); rv < 0) {
    return gnutls_err(rv, "importing the private key");
  }
  auto pub = detail::new_pub();
  if (!pub) return Err(pub.error());
  if (int rv = gnutls_pubkey_import_privkey(pub->get(), p, 0, 0); rv < 0) {
    return gnutls_err(rv, "deriving the public key");
  }
  auto spki = detail::export_spki(pub->get());
  if (!spki) return Err(spki.error());
  auto pk = PublicKey::from_spki_der(*spki);
  if (!pk) return Err(pk.error());
  PrivateKey out;
  out.impl_ = std::make_shared<const PrivateKey::Impl>(
      PrivateKey::Impl{std::move(key), std::move(priv), pk->type(), *pk});
  return out;
}

Result<std::string> PrivateKey::to_pem() const {
  if (!impl_) return Err(Errc::kInvalidArgument, "to_pem on an empty private key");
  OwnedDatum out;
  if (int rv = gnutls_x509_privkey_export2_pkcs8(impl_->x509.get(), GNUTLS_X509_FMT_PEM, nullptr,
                                                 GNUTLS_PKCS_PLAIN, out.out());
      rv < 0) {
    return gnutls_err(rv, "exporting the private key");
  }
  return out.str();
}

Result<Bytes> PrivateKey::sign(ByteView data) const {
  if (!impl_) return Err(Errc::kInvalidArgument, "sign with an empty private key");
  gnutls_datum_t d = datum(data);
  OwnedDatum sig;
  if (int rv =
          gnutls_privkey_sign_data2(impl_->priv.get(), sign_algo(impl_->type), 0, &d, sig.out());
      rv < 0) {
    return gnutls_err(rv, "signing");
  }
  return sig.bytes();
}

PublicKey PrivateKey::public_key() const {
  return impl_ ? impl_->pub : PublicKey();
}

KeyType PrivateKey::type() const {
  return impl_ ? impl_->type : KeyType::kEd25519;
}

gnutls_pubkey_st* PublicKey::gnutls_handle() const {
  return impl_ ? impl_->pub.get() : nullptr;
}

gnutls_privkey_t PrivateKey::gnutls_handle() const {
  return impl_ ? impl_->priv.get() : nullptr;
}

}  // namespace qc::identity
