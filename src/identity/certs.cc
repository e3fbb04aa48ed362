// Certificate decoding, node ids of certificates, and chain verification.
#include <ctime>
#include <string>

#include "identity/gnutls_util.h"
#include "identity/identity.h"

namespace qc::identity {

using detail::datum;
using detail::gnutls_err;
using detail::OwnedDatum;

namespace {

constexpr std::size_t kMaxChain = 8;

}  // namespace

std::string detail::format_unix_time(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

namespace {

std::string get_cn(gnutls_x509_crt_t crt) {
  char buf[256];
  size_t size = sizeof buf;
  if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) < 0) {
    return "";
  }
  return std::string(buf, size);
}

}  // namespace

Result<std::vector<Bytes>> parse_pem_certs(std::string_view pem) {
  if (pem.empty()) return Err(Errc::kParse, "empty input; expected PEM certificates");
  if (pem.size() > detail::kMaxInput) return Err(Errc::kTooLarge, "PEM input larger than 1 MiB");
  if (pem.find("-----BEGIN CERTIFICATE-----") == std::string_view::npos) {
    return Err(Errc::kParse, "no \"-----BEGIN CERTIFICATE-----\" block found");
  }
  std::string copy(pem);  // NUL-terminated for GnuTLS's PEM scanner
  gnutls_datum_t d{reinterpret_cast<unsigned char*>(copy.data()),
                   static_cast<unsigned>(copy.size())};
  gnutls_x509_crt_t* list = nullptr;
  unsigned n = 0;
  int rv = gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0);
  if (rv < 0) return gnutls_err(rv, "cannot read the PEM certificates", Errc::kParse);
  std::vector<detail::Crt> owned;
  for (unsigned i = 0; i < n; ++i) owned.emplace_back(list[i]);
  gnutls_free(list);
  if (owned.empty()) return Err(Errc::kParse, "no certificate found in the PEM input");
  std::vector<Bytes> out;
  for (auto& c : owned) {
    OwnedDatum der;
    if (int e = gnutls_x509_crt_export2(c.get(), GNUTLS_X509_FMT_DER, der.out()); e < 0) {
      return gnutls_err(e, "re-encoding a certificate", Errc::kParse);
    }
    out.push_back(der.bytes());
  }
  return out;
}

Result<NodeId> node_id_of_cert_der(ByteView cert_der) {
  auto crt = detail::import_crt_der(cert_der);
  if (!crt) return Err(crt.error());
  auto pub = detail::new_pub();
  if (!pub) return Err(pub.error());
  if (int rv = gnutls_pubkey_import_x509(pub->get(), crt->get(), 0); rv < 0) {
    return gnutls_err(rv, "reading the certificate's public key", Errc::kParse);
  }
  auto spki = detail::export_spki(pub->get());
  if (!spki) return Err(spki.error());
  return sha256(*spki);
}

Result<CertInfo> cert_info(ByteView cert_der) {
  auto crt = detail::import_crt_der(cert_der);
  if (!crt) return Err(crt.error());
  gnutls_x509_crt_t c = crt->get();
  CertInfo info;
  {
    OwnedDatum dn;
    if (gnutls_x509_crt_get_dn3(c, dn.out(), 0) >= 0) info.subject = dn.str();
  }
  {
    OwnedDatum dn;
    if (gnutls_x509_crt_get_issuer_dn3(c, dn.out(), 0) >= 0) info.issuer = dn.str();
  }
  info.common_name = get_cn(c);
  info.not_before = gnutls_x509_crt_get_activation_time(c);
  info.not_after = gnutls_x509_crt_get_expiration_time(c);
  unsigned critical = 0, ca = 0;
  int pathlen = 0;
  if (gnutls_x509_crt_get_basic_constraints(c, &critical, &ca, &pathlen) >= 0) info.is_ca = ca != 0;
  {
    unsigned char serial[64];
    size_t size = sizeof serial;
    if (gnutls_x509_crt_get_serial(c, serial, &size) >= 0) info.serial = to_hex({serial, size});
  }
  for (unsigned i = 0; i < 64; ++i) {
    char buf[512];
    size_t size = sizeof buf;
    unsigned type = 0;
    int rv = gnutls_x509_crt_get_subject_alt_name2(c, i, buf, &size, &type, nullptr);
    if (rv == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
    if (rv < 0) continue;  // e.g. an entry too long for the buffer
    if (type == GNUTLS_SAN_DNSNAME) info.dns_names.emplace_back(buf, size);
  }
  unsigned self_status = 1;
  info.self_signed =
      gnutls_x509_crt_check_issuer(c, c) == 1 &&
      gnutls_x509_crt_verify(
          c, &c, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
          &self_status) >= 0 &&
      self_status == 0;

  auto pub = detail::new_pub();
  if (!pub) return Err(pub.error());
  if (int rv = gnutls_pubkey_import_x509(pub->get(), c, 0); rv < 0) {
    return gnutls_err(rv, "reading the certificate's public key", Errc::kParse);
  }
  auto spki = detail::export_spki(pub->get());
  if (!spki) return Err(spki.error());
  info.spki_hash = sha256(*spki);
  auto pk = PublicKey::from_spki_der(*spki);
  if (pk) {
    info.key_supported = true;
    info.key_type = pk->type();
    info.key_algorithm = pk->type() == KeyType::kEd25519 ? "Ed25519" : "ECDSA P-256";
  } else {
    unsigned bits = 0;
    int algo = gnutls_pubkey_get_pk_algorithm(pub->get(), &bits);
    const char* name = gnutls_pk_get_name(static_cast<gnutls_pk_algorithm_t>(algo));
    info.key_algorithm = std::string(name ? name : "unknown") + " " + std::to_string(bits);
  }
  return info;
}

std::int64_t unix_seconds_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

Result<void> verify_chain(const std::vector<Bytes>& chain, ByteView ca_der, std::int64_t unix_now) {
  return detail::verify_path(chain, ca_der, unix_now, false);
}

Result<void> detail::verify_path(const std::vector<Bytes>& chain, ByteView ca_der,
                                 std::int64_t unix_now, bool leaf_may_be_ca) {
  if (chain.empty()) return Err(Errc::kVerify, "the peer presented no certificate");
  if (chain.size() > kMaxChain) {
    return Err(Errc::kTooLarge, "certificate chain longer than " + std::to_string(kMaxChain));
  }
  auto ca = detail::import_crt_der(ca_der);
  if (!ca) return Err(Errc::kParse, "the CA certificate: " + ca.error().message);
  std::vector<detail::Crt> owned;
  std::vector<gnutls_x509_crt_t> list;
  for (std::size_t i = 0; i < chain.size(); ++i) {
    auto c = detail::import_crt_der(chain[i]);
    if (!c) {
      return Err(Errc::kParse,
                 "certificate " + std::to_string(i) + " of the chain: " + c.error().message);
    }
    list.push_back(c->get());
    owned.push_back(std::move(*c));
  }
  auto leaf_info = cert_info(chain[0]);
  if (!leaf_info) return Err(leaf_info.error());
  if (leaf_info->is_ca && !leaf_may_be_ca) {
    return Err(Errc::kVerify, "the leaf certificate '" + leaf_info->subject +
                                  "' is a CA certificate, not a node certificate; make one with "
                                  "`qc cert sign`");
  }

  // Signatures and constraints first (time checks off: we check against `unix_now` below).
  gnutls_x509_trust_list_t tl = nullptr;
  if (int rv = gnutls_x509_trust_list_init(&tl, 0); rv < 0) return gnutls_err(rv, "trust list");
  detail::Trust trust(tl);
  gnutls_x509_crt_t ca_raw = ca->release();  // the trust list owns it from here
  if (int rv = gnutls_x509_trust_list_add_cas(tl, &ca_raw, 1, 0); rv < 0) {
    gnutls_x509_crt_deinit(ca_raw);
    return gnutls_err(rv, "adding the CA to the trust list");
  }
  unsigned status = 0;
  unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
  int rv = gnutls_x509_trust_list_verify_crt2(tl, list.data(), static_cast<unsigned>(list.size()),
                                              nullptr, 0, flags, &status, nullptr);
  if (rv < 0) return gnutls_err(rv, "verifying the certificate chain", Errc::kVerify);
  if (status != 0) {
    OwnedDatum text;
    std::string why = "rejected";
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, text.out(), 0) >= 0) {
      why = text.str();
    }
    if (status & GNUTLS_CERT_SIGNER_NOT_FOUND) {
      why += " (the certificate was not issued by this cluster's CA)";
    }
    return Err(Errc::kVerify, "certificate '" + leaf_info->subject + "': " + why);
  }

  // Validity of every certificate in the path, and of the CA.
  auto check_time = [&](ByteView der, const char* role) -> Result<void> {
    auto info = cert_info(der);
    if (!info) return Err(info.error());
    if (unix_now < info->not_before) {
      return Err(Errc::kExpired,
                 std::string(role) + " '" + info->subject + "' is not valid until " +
                     detail::format_unix_time(info->not_before) + "; check the clock or wait");
    }
    if (unix_now > info->not_after) {
      return Err(Errc::kExpired, std::string(role) + " '" + info->subject + "' expired on " +
                                     detail::format_unix_time(info->not_after) +
                                     "; issue a new one");
    }
    return Ok();
  };
  for (std::size_t i = 0; i < chain.size(); ++i) {
    QC_TRY(check_time(chain[i], i == 0 ? "certificate" : "intermediate CA certificate"));
  }
  QC_TRY(check_time(ca_der, "CA certificate"));
  return Ok();
}

}  // namespace qc::identity
