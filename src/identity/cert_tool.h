// Making certificates: a root CA, intermediate CAs, and node certificates, as PEM, plus helpers
// that write them as the files a node loads (ca.crt, cert.crt, key.pem). Used by `qc cert` and by
// tests that need a throwaway PKI:
//
//   auto ca = make_ca({.name = "test CA"});
//   auto files = make_node_files(tmpdir + "/a", *ca, "node-a");   // ca.crt, cert.crt, key.pem
//   auto id = Identity::load(*files);
//
// Times are unix seconds. All functions return errors as values; none throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "identity/identity.h"

namespace qc::identity {

constexpr std::int64_t kDefaultCaDays = 3650;    // 10 years
constexpr std::int64_t kDefaultNodeDays = 1095;  // 3 years
constexpr std::int64_t kBackdateSeconds = 300;   // not_before = now - 5 min, for clock skew

// A CA that can issue certificates.
struct CertAuthority {
  std::string cert_pem;  // this CA's certificate
  std::string key_pem;   // its private key (PKCS#8, unencrypted)
  std::string
      chain_pem;         // intermediates above this CA, nearest first, root excluded; "" for a root
  std::string root_pem;  // the cluster root (equal to cert_pem for a root CA)

  // Loads an issuer and checks it: the key matches the certificate, the certificate is a CA, and
  // (for an intermediate) chain_pem + cert verify to root_pem. `root_pem` empty means `cert_pem`
  // is the root. kVerify / kParse with a message naming the problem.
  static Result<CertAuthority> from_pem(std::string cert_pem, std::string key_pem,
                                        std::string chain_pem = "", std::string root_pem = "");
};

struct CaOptions {
  std::string name;                    // subject CN; required, at most 64 characters
  std::int64_t days = kDefaultCaDays;  // validity from now (clamped to the issuer's)
  KeyType key_type = KeyType::kEd25519;
  std::optional<std::int64_t> not_before = std::nullopt;  // overrides now - kBackdateSeconds
  std::optional<std::int64_t> not_after =
      std::nullopt;  // overrides not_before + days (tests: expired certs)
};

struct NodeCertOptions {
  std::string name;                      // subject CN; required, at most 64 characters
  std::int64_t days = kDefaultNodeDays;  // validity from now, never past the issuer's not_after
  KeyType key_type = KeyType::kEd25519;
  std::string suffix = std::string(kDefaultSuffix);  // dNSName SAN is "<text id>.<suffix>"
  std::optional<std::int64_t> not_before = std::nullopt;
  std::optional<std::int64_t> not_after = std::nullopt;
};

// A node certificate and everything a node needs with it.
struct NodeCert {
  std::string cert_pem;  // cert.crt: the leaf, then the issuer's intermediates (root excluded)
  std::string key_pem;   // key.pem
  std::string ca_pem;    // ca.crt: the cluster root
  Bytes leaf_der;        // the leaf alone
  NodeId node_id{};      // of the new key
};

// A self-signed root CA (basicConstraints CA, keyCertSign + cRLSign).
Result<CertAuthority> make_ca(const CaOptions& opts);
// An intermediate CA signed by `issuer` (a root or another intermediate).
Result<CertAuthority> make_intermediate(const CertAuthority& issuer, const CaOptions& opts);
// A node certificate signed by `issuer`: a fresh key, EKU serverAuth + clientAuth,
// digitalSignature, SAN dNSName "<text id>.<suffix>".
Result<NodeCert> issue_node_cert(const CertAuthority& issuer, const NodeCertOptions& opts);

// ---- files ----

// Writes DIR/ca.crt and DIR/ca.key (mode 0600) for a root CA; for an intermediate, writes
// DIR/intermediate.crt (the intermediate, its chain, then the root), DIR/intermediate.key (0600)
// and DIR/ca.crt (the root). Creates DIR if needed. Without `force`, fails with kExists (and writes
// nothing) if any of the files exists.
Result<void> write_ca_files(const std::string& dir, const CertAuthority& ca, bool force = false);
// Writes DIR/ca.crt, DIR/cert.crt and DIR/key.pem (0600); same rules. Returns the three paths.
Result<IdentityFiles> write_node_files(const std::string& dir, const NodeCert& cert,
                                       bool force = false);
// issue_node_cert + write_node_files, with defaults (Ed25519, 3 years, suffix "fuse").
Result<IdentityFiles> make_node_files(const std::string& dir, const CertAuthority& ca,
                                      std::string_view name, bool force = false);

// PEM text ("-----BEGIN CERTIFICATE-----...") of one DER certificate.
Result<std::string> cert_pem_of_der(ByteView der);
// Reads certificates from text that is PEM (one or more) or a single DER certificate.
Result<std::vector<Bytes>> parse_certs_any(std::string_view pem_or_der);

// Reads a whole file (at most 1 MiB). kNotFound with the path when it cannot be opened.
Result<std::string> read_text_file(const std::string& path);
// Writes `data` to `path` with `mode`, replacing it atomically (temp file + rename) if `force`,
// else failing with kExists ("... use --force") when it exists.
Result<void> write_text_file(const std::string& path, std::string_view data, unsigned mode,
                             bool force);

}  // namespace qc::identity
