// Certificate making (root CA, intermediate CA, node certificate) and writing the files.
#include "identity/cert_tool.h"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "identity/gnutls_util.h"

namespace qc::identity {

using detail::gnutls_err;
using detail::OwnedDatum;

namespace {

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kMaxDays = 100 * 366;
constexpr std::size_t kMaxCnLength = 64;  // X.520 ub-common-name

Result<void> check_name(const std::string& name) {
  if (name.empty()) return Err(Errc::kInvalidArgument, "a certificate name is required (--name)");
  if (name.size() > kMaxCnLength) {
    return Err(Errc::kInvalidArgument, "the name '" + name + "' is longer than 64 characters");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Err(Errc::kInvalidArgument, "the name contains a control character");
    }
  }
  return Ok();
}

Result<void> check_days(std::int64_t days) {
  if (days <= 0 || days > kMaxDays) {
    return Err(Errc::kInvalidArgument, "validity must be 1 to " + std::to_string(kMaxDays) +
                                           " days, not " + std::to_string(days));
  }
  return Ok();
}

// The validity window: [not_before, not_after], not_after clamped to `issuer_not_after` if set.
struct Window {
  std::int64_t not_before;
  std::int64_t not_after;
};

Result<Window> window(std::int64_t days, std::optional<std::int64_t> nb,
                      std::optional<std::int64_t> na, std::optional<std::int64_t> issuer_na) {
  QC_TRY(check_days(days));
  std::int64_t now = unix_seconds_now();
  Window w{nb.value_or(now - kBackdateSeconds), 0};
  w.not_after = na.value_or(now + days * kDay);
  if (issuer_na && w.not_after > *issuer_na) w.not_after = *issuer_na;
  if (w.not_after <= w.not_before) {
    return Err(Errc::kInvalidArgument, "the validity window is empty (the issuer expires on " +
                                           detail::format_unix_time(issuer_na.value_or(0)) +
                                           "?); renew the issuer first");
  }
  return w;
}

Result<std::string> export_pem(gnutls_x509_crt_t crt) {
  OwnedDatum out;
  if (int rv = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, out.out()); rv < 0) {
    return gnutls_err(rv, "exporting the certificate");
  }
  return out.str();
}

// What a certificate is signed with.
struct Signer {
  gnutls_x509_crt_t crt;  // issuer certificate; null for self-signed
  const PrivateKey* key;
};

struct Profile {
  bool ca = false;
  std::string dns_name;  // SAN; empty for none
};

// Builds and signs a certificate for `subject` with the given profile.
Result<detail::Crt> build(const std::string& name, const Window& w, const PublicKey& subject,
                          const Profile& prof, const Signer& signer) {
  auto crt_r = detail::new_crt();
  if (!crt_r) return Err(crt_r.error());
  gnutls_x509_crt_t crt = crt_r->get();
  auto ck = [](int rv, const char* what) -> Result<void> {
    if (rv < 0) return gnutls_err(rv, what);
    return Ok();
  };
  QC_TRY(ck(gnutls_x509_crt_set_version(crt, 3), "set version"));
  std::uint8_t serial[16];
  QC_TRY(ck(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial), "random serial"));
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);  // positive, 16 bytes
  QC_TRY(ck(gnutls_x509_crt_set_serial(crt, serial, sizeof serial), "set serial"));
  QC_TRY(ck(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name.data(),
                                          static_cast<unsigned>(name.size())),
            "set subject name"));
  QC_TRY(ck(gnutls_x509_crt_set_activation_time(crt, static_cast<time_t>(w.not_before)),
            "set not_before"));
  QC_TRY(ck(gnutls_x509_crt_set_expiration_time(crt, static_cast<time_t>(w.not_after)),
            "set not_after"));
  QC_TRY(ck(gnutls_x509_crt_set_pubkey(crt, subject.gnutls_handle()), "set public key"));
  QC_TRY(
      ck(gnutls_x509_crt_set_basic_constraints(crt, prof.ca ? 1 : 0, -1), "set basic constraints"));
  QC_TRY(
      ck(gnutls_x509_crt_set_key_usage(crt, prof.ca ? GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN
                                                    : GNUTLS_KEY_DIGITAL_SIGNATURE),
         "set key usage"));
  if (!prof.ca) {
    QC_TRY(ck(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0), "set EKU"));
    QC_TRY(ck(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_CLIENT, 0), "set EKU"));
  }
  if (!prof.dns_name.empty()) {
    QC_TRY(ck(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, prof.dns_name.data(),
                                                   static_cast<unsigned>(prof.dns_name.size()),
                                                   GNUTLS_FSAN_APPEND),
              "set subjectAltName"));
  }
  unsigned char kid[64];
  size_t kid_size = sizeof kid;
  QC_TRY(ck(gnutls_pubkey_get_key_id(subject.gnutls_handle(), 0, kid, &kid_size), "key id"));
  QC_TRY(ck(gnutls_x509_crt_set_subject_key_id(crt, kid, kid_size), "set subject key id"));
  if (signer.crt != nullptr) {
    unsigned char akid[64];
    size_t akid_size = sizeof akid;
    unsigned critical = 0;
    if (gnutls_x509_crt_get_subject_key_id(signer.crt, akid, &akid_size, &critical) >= 0) {
      QC_TRY(ck(gnutls_x509_crt_set_authority_key_id(crt, akid, akid_size), "set authority kid"));
    }
  }
  gnutls_x509_crt_t issuer = signer.crt != nullptr ? signer.crt : crt;
  gnutls_digest_algorithm_t dig = GNUTLS_DIG_SHA256;
  if (signer.key->type() == KeyType::kEd25519) dig = GNUTLS_DIG_SHA512;  // ignored by EdDSA
  QC_TRY(ck(gnutls_x509_crt_privkey_sign(crt, issuer, signer.key->gnutls_handle(), dig, 0),
            "signing the certificate"));
  return std::move(*crt_r);
}

// An issuer ready to sign: parsed certificate, key, validity.
struct LoadedIssuer {
  detail::Crt crt;
  PrivateKey key;
  CertInfo info;
};

Result<LoadedIssuer> load_issuer(const CertAuthority& ca) {
  auto certs = parse_pem_certs(ca.cert_pem);
  if (!certs) return Err(certs.error().code, "the CA certificate: " + certs.error().message);
  auto crt = detail::import_crt_der(certs->front());
  if (!crt) return Err(crt.error());
  auto info = cert_info(certs->front());
  if (!info) return Err(info.error());
  auto key = PrivateKey::from_pem(ca.key_pem);
  if (!key) return Err(key.error().code, "the CA key: " + key.error().message);
  if (!info->is_ca) {
    return Err(Errc::kInvalidArgument, "'" + info->subject +
                                           "' is not a CA certificate; sign with a CA made by "
                                           "`qc cert ca` or `qc cert sign --intermediate`");
  }
  auto cert_key = PublicKey::from_cert_der(certs->front());
  if (!cert_key)
    return Err(cert_key.error().code, "the CA certificate: " + cert_key.error().message);
  if (key->public_key().spki_der() != cert_key->spki_der()) {
    return Err(Errc::kVerify, "the CA key does not match the CA certificate '" + info->subject +
                                  "'; pass the key made with it");
  }
  std::int64_t now = unix_seconds_now();
  if (info->not_after < now) {
    return Err(Errc::kExpired, "the CA certificate '" + info->subject + "' expired on " +
                                   detail::format_unix_time(info->not_after) + "; make a new CA");
  }
  return LoadedIssuer{std::move(*crt), std::move(*key), std::move(*info)};
}

std::string with_newline(std::string s) {
  if (!s.empty() && s.back() != '\n') s.push_back('\n');
  return s;
}

}  // namespace

Result<CertAuthority> CertAuthority::from_pem(std::string cert_pem, std::string key_pem,
                                              std::string chain_pem, std::string root_pem) {
  CertAuthority ca{with_newline(std::move(cert_pem)), std::move(key_pem),
                   with_newline(std::move(chain_pem)), with_newline(std::move(root_pem))};
  auto issuer = load_issuer(ca);
  if (!issuer) return Err(issuer.error());
  if (ca.root_pem.empty()) {
    if (!issuer->info.self_signed) {
      return Err(Errc::kInvalidArgument,
                 "'" + issuer->info.subject +
                     "' is an intermediate CA; also give its root CA certificate (--root)");
    }
    ca.root_pem = ca.cert_pem;
    ca.chain_pem.clear();
    return ca;
  }
  auto root = parse_pem_certs(ca.root_pem);
  if (!root) return Err(root.error().code, "the root CA certificate: " + root.error().message);
  auto path = parse_pem_certs(ca.cert_pem + ca.chain_pem);
  if (!path) return Err(path.error());
  if (path->front() == root->front()) {  // the issuer is the root itself
    ca.chain_pem.clear();
    return ca;
  }
  if (auto v = detail::verify_path(*path, root->front(), unix_seconds_now(), true); !v) {
    return Err(v.error().code,
               "the CA chain does not verify against the root: " + v.error().message);
  }
  return ca;
}

Result<CertAuthority> make_ca(const CaOptions& opts) {
  QC_TRY(check_name(opts.name));
  auto w = window(opts.days, opts.not_before, opts.not_after, std::nullopt);
  if (!w) return Err(w.error());
  auto key = PrivateKey::generate(opts.key_type);
  if (!key) return Err(key.error());
  auto crt = build(opts.name, *w, key->public_key(), Profile{true, ""}, Signer{nullptr, &*key});
  if (!crt) return Err(crt.error());
  auto pem = export_pem(crt->get());
  if (!pem) return Err(pem.error());
  auto key_pem = key->to_pem();
  if (!key_pem) return Err(key_pem.error());
  return CertAuthority{*pem, *key_pem, "", *pem};
}

Result<CertAuthority> make_intermediate(const CertAuthority& issuer, const CaOptions& opts) {
  QC_TRY(check_name(opts.name));
  auto is = load_issuer(issuer);
  if (!is) return Err(is.error());
  auto w = window(opts.days, opts.not_before, opts.not_after, is->info.not_after);
  if (!w) return Err(w.error());
  auto key = PrivateKey::generate(opts.key_type);
  if (!key) return Err(key.error());
  auto crt =
      build(opts.name, *w, key->public_key(), Profile{true, ""}, Signer{is->crt.get(), &is->key});
  if (!crt) return Err(crt.error());
  auto pem = export_pem(crt->get());
  if (!pem) return Err(pem.error());
  auto key_pem = key->to_pem();
  if (!key_pem) return Err(key_pem.error());
  bool issuer_is_root = issuer.root_pem.empty() || issuer.root_pem == issuer.cert_pem;
  std::string chain = issuer_is_root ? "" : with_newline(issuer.cert_pem) + issuer.chain_pem;
  std::string root = issuer.root_pem.empty() ? issuer.cert_pem : issuer.root_pem;
  return CertAuthority{*pem, *key_pem, chain, root};
}

Result<NodeCert> issue_node_cert(const CertAuthority& issuer, const NodeCertOptions& opts) {
  QC_TRY(check_name(opts.name));
  if (opts.suffix.empty() || opts.suffix.find_first_of(" /\\") != std::string::npos) {
    return Err(Errc::kInvalidArgument, "the hostname suffix must be a DNS label such as 'fuse'");
  }
  auto is = load_issuer(issuer);
  if (!is) return Err(is.error());
  auto w = window(opts.days, opts.not_before, opts.not_after, is->info.not_after);
  if (!w) return Err(w.error());
  auto key = PrivateKey::generate(opts.key_type);
  if (!key) return Err(key.error());
  NodeId id = key->public_key().node_id();
  auto crt =
      build(opts.name, *w, key->public_key(), Profile{false, hostname(partial_of(id), opts.suffix)},
            Signer{is->crt.get(), &is->key});
  if (!crt) return Err(crt.error());
  auto pem = export_pem(crt->get());
  if (!pem) return Err(pem.error());
  auto key_pem = key->to_pem();
  if (!key_pem) return Err(key_pem.error());
  OwnedDatum der;
  if (int rv = gnutls_x509_crt_export2(crt->get(), GNUTLS_X509_FMT_DER, der.out()); rv < 0) {
    return gnutls_err(rv, "exporting the certificate");
  }
  bool issuer_is_root = issuer.root_pem.empty() || issuer.root_pem == issuer.cert_pem;
  NodeCert out;
  out.cert_pem = *pem + (issuer_is_root ? "" : with_newline(issuer.cert_pem) + issuer.chain_pem);
  out.key_pem = std::move(*key_pem);
  out.ca_pem = issuer.root_pem.empty() ? issuer.cert_pem : issuer.root_pem;
  out.leaf_der = der.bytes();
  out.node_id = id;
  return out;
}

Result<std::string> cert_pem_of_der(ByteView der) {
  gnutls_datum_t d = detail::datum(der);
  OwnedDatum out;
  if (int rv = gnutls_pem_base64_encode2("CERTIFICATE", &d, out.out()); rv < 0) {
    return gnutls_err(rv, "encoding the certificate as PEM");
  }
  return out.str();
}

Result<std::vector<Bytes>> parse_certs_any(std::string_view pem_or_der) {
  if (pem_or_der.find("-----BEGIN") != std::string_view::npos) return parse_pem_certs(pem_or_der);
  ByteView der = as_bytes(pem_or_der);
  auto crt = detail::import_crt_der(der);
  if (!crt) {
    return Err(Errc::kParse,
               "neither PEM certificates nor a DER certificate: " + crt.error().message);
  }
  return std::vector<Bytes>{Bytes(der.begin(), der.end())};
}

// ---- files ----

Result<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return Err(Errc::kInvalidArgument, "'" + path + "' is a directory; name a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Err(Errc::kNotFound,
               "cannot open '" + path + "': " + std::strerror(errno) + "; check the path");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  if (s.size() > detail::kMaxInput) {
    return Err(Errc::kTooLarge, "'" + path + "' is larger than 1 MiB; is it the right file?");
  }
  return s;
}

Result<void> write_text_file(const std::string& path, std::string_view data, unsigned mode,
                             bool force) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) && !force) {
    return Err(Errc::kExists, "'" + path + "' already exists; use --force to overwrite it");
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return Err(Errc::kIo, "cannot create '" + tmp + "': " + std::strerror(errno) +
                              "; check the directory's permissions");
  }
  auto fail = [&](const char* what) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return Err(Errc::kIo, std::string(what) + " '" + tmp + "': " + std::strerror(e));
  };
  if (::fchmod(fd, mode) != 0) return fail("cannot set the mode of");
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("cannot sync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Err(Errc::kIo, "cannot close '" + tmp + "': " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Err(Errc::kIo, "cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
  return Ok();
}

namespace {

struct OutFile {
  std::string path;
  std::string data;
  unsigned mode;
};

Result<void> write_all(const std::string& dir, const std::vector<OutFile>& files, bool force) {
  std::error_code ec;
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return Err(Errc::kIo, "cannot create the directory '" + dir + "': " + ec.message());
    }
  }
  if (!force) {
    for (const auto& f : files) {
      if (std::filesystem::exists(f.path, ec)) {
        return Err(Errc::kExists, "'" + f.path + "' already exists; use --force to overwrite it");
      }
    }
  }
  for (const auto& f : files) QC_TRY(write_text_file(f.path, f.data, f.mode, force));
  return Ok();
}

std::string join(const std::string& dir, const char* name) {
  return (std::filesystem::path(dir.empty() ? "." : dir) / name).string();
}

}  // namespace

Result<void> write_ca_files(const std::string& dir, const CertAuthority& ca, bool force) {
  bool is_root = ca.root_pem.empty() || ca.root_pem == ca.cert_pem;
  if (is_root) {
    return write_all(
        dir, {{join(dir, "ca.crt"), ca.cert_pem, 0644}, {join(dir, "ca.key"), ca.key_pem, 0600}},
        force);
  }
  return write_all(dir,
                   {{join(dir, "intermediate.crt"),
                     with_newline(ca.cert_pem) + ca.chain_pem + ca.root_pem, 0644},
                    {join(dir, "intermediate.key"), ca.key_pem, 0600},
                    {join(dir, "ca.crt"), ca.root_pem, 0644}},
                   force);
}

Result<IdentityFiles> write_node_files(const std::string& dir, const NodeCert& cert, bool force) {
  IdentityFiles files{join(dir, "ca.crt"), join(dir, "cert.crt"), join(dir, "key.pem")};
  QC_TRY(write_all(dir,
                   {{files.ca, cert.ca_pem, 0644},
                    {files.cert, cert.cert_pem, 0644},
                    {files.key, cert.key_pem, 0600}},
                   force));
  return files;
}

Result<IdentityFiles> make_node_files(const std::string& dir, const CertAuthority& ca,
                                      std::string_view name, bool force) {
  NodeCertOptions opts;
  opts.name = std::string(name);
  auto cert = issue_node_cert(ca, opts);
  if (!cert) return Err(cert.error());
  return write_node_files(dir, *cert, force);
}

}  // namespace qc::identity
