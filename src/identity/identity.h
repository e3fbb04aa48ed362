// Node identity: certificates, ids, addresses, signing and verification (layer 1).
//
// Definitions (DESIGN.md, "Identity and addressing"):
//   node id      = SHA-256 of the DER SubjectPublicKeyInfo of the node's leaf certificate (32 B)
//   partial id   = node id[0..10)
//   text id      = RFC 4648 base32 of the partial id, lower case, no padding (16 characters)
//   cluster id   = SHA-256 of the CA certificate's DER SubjectPublicKeyInfo
//   IPv6 address = fd cc | cluster id[0..4) | partial id[0..10)     (16 bytes)
//   cluster /48  = fdcc:xxxx:xxxx::/48 (the first 6 bytes of any address)
//   hostname     = <text id>.<suffix>, suffix "fuse" by default
//
// Thread safety: Identity and the key types are immutable after load and safe to share for
// reading; GnuTLS handles inside are not used concurrently for writing.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

// GnuTLS handle types, for callers that hand keys to GnuTLS themselves.
struct gnutls_privkey_st;
struct gnutls_pubkey_st;

namespace qc::identity {

namespace detail {
struct KeyAccess;  // keys.cc
}  // namespace detail

constexpr std::size_t kNodeIdSize = 32;
constexpr std::size_t kPartialIdSize = 10;
constexpr std::size_t kTextIdSize = 16;
constexpr std::string_view kDefaultSuffix = "fuse";

using NodeId = std::array<std::uint8_t, kNodeIdSize>;
using PartialId = std::array<std::uint8_t, kPartialIdSize>;
using ClusterId = std::array<std::uint8_t, kNodeIdSize>;
using Ipv6 = std::array<std::uint8_t, 16>;

// ---- ids and addresses (pure functions) ----

PartialId partial_of(const NodeId& id);
std::string text_id(const PartialId& p);
inline std::string text_id(const NodeId& id) {
  return text_id(partial_of(id));
}
Ipv6 address_of(const ClusterId& cluster, const PartialId& p);
// "fdcc:xxxx:xxxx::/48"
std::string cluster_prefix(const ClusterId& cluster);
// Canonical RFC 5952 text ("fdcc:1:2::3").
std::string ipv6_to_string(const Ipv6& a);
// "<text id>.<suffix>"
std::string hostname(const PartialId& p, std::string_view suffix = kDefaultSuffix);

// A prefix of a node id, 10 to 32 bytes long: what a user or a probe hop names a peer by.
struct NodeIdPrefix {
  std::vector<std::uint8_t> bytes;  // 10..32 bytes
  bool matches(const NodeId& id) const;
  PartialId partial() const;  // the first 10 bytes
};

// Parses a 16-character text id (case-insensitive). Clear error on anything else.
Result<PartialId> parse_text_id(std::string_view text);

// Parses what a user may type to name a peer, and returns its partial id:
//   - a text id                                  "faqmce7yybsswacf"
//   - a hostname "<text id>.<suffix>"            "faqmce7yybsswacf.fuse" (suffix must match)
//   - a cluster IPv6 address, with or without [] "fdcc:4593:bfc4:..." (cluster must match when
//     `cluster` is given)
//   - a hex node id prefix of 10 to 32 bytes     (20 to 64 hex digits)
// Returns kParse with a message that says which forms are accepted on anything else.
Result<NodeIdPrefix> parse_peer(std::string_view text, std::string_view suffix = kDefaultSuffix,
                                const ClusterId* cluster = nullptr);

// SHA-256 of the DER SubjectPublicKeyInfo inside a DER certificate.
Result<NodeId> node_id_of_cert_der(ByteView cert_der);
// SHA-256 of bytes.
std::array<std::uint8_t, 32> sha256(ByteView data);

// ---- keys ----

enum class KeyType { kEd25519, kEcdsaP256 };

// A public key that can check signatures made by the matching PrivateKey.
class PublicKey {
 public:
  // From a DER certificate (the key inside it), or from DER SubjectPublicKeyInfo.
  static Result<PublicKey> from_cert_der(ByteView cert_der);
  static Result<PublicKey> from_spki_der(ByteView spki_der);
  // kVerify when the signature does not match (never throws, never crashes on garbage).
  Result<void> verify(ByteView data, ByteView signature) const;
  KeyType type() const { return type_; }
  const Bytes& spki_der() const { return spki_; }
  NodeId node_id() const;  // sha256(spki_der)
  // True once loaded; a default-constructed PublicKey is empty and verifies nothing.
  bool valid() const { return impl_ != nullptr; }
  // The imported GnuTLS key (borrowed: valid while this PublicKey or a copy lives); null if empty.
  gnutls_pubkey_st* gnutls_handle() const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
  KeyType type_ = KeyType::kEd25519;
  Bytes spki_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> generate(KeyType type);
  static Result<PrivateKey> from_pem(std::string_view pem);
  // PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
  Result<std::string> to_pem() const;
  // Ed25519: 64-byte signature. ECDSA P-256: DER-encoded signature over SHA-256(data).
  Result<Bytes> sign(ByteView data) const;
  PublicKey public_key() const;
  KeyType type() const;
  // True once generated or loaded; a default-constructed PrivateKey is empty and signs nothing.
  bool valid() const { return impl_ != nullptr; }
  // The GnuTLS signing handle (borrowed: valid while this PrivateKey or a copy lives).
  gnutls_privkey_st* gnutls_handle() const;

 private:
  friend struct detail::KeyAccess;
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// ---- certificates ----

struct CertInfo {
  std::string subject;      // DN
  std::string issuer;       // DN
  std::int64_t not_before;  // unix seconds
  std::int64_t not_after;   // unix seconds
  bool is_ca = false;
  KeyType key_type = KeyType::kEd25519;
  NodeId spki_hash{};  // the node id this certificate gives its holder
  // Added fields (for `qc cert print` and diagnostics):
  std::string common_name;             // the subject's CN, empty if none
  std::string key_algorithm;           // "Ed25519", "ECDSA P-256", or what GnuTLS calls it
  bool key_supported = false;          // Ed25519 or ECDSA P-256 (key_type is meaningful)
  bool self_signed = false;            // subject == issuer and the signature verifies
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  std::string serial;                  // hex
};

// Parses PEM text holding one or more certificates, in order. kParse on none or garbage.
Result<std::vector<Bytes>> parse_pem_certs(std::string_view pem);
Result<CertInfo> cert_info(ByteView cert_der);

// Verifies `chain` (leaf first, then intermediates, DER) against the trust anchor `ca_der` at
// time `unix_now` (seconds). kVerify with the reason (unknown issuer, bad signature...),
// kExpired when a certificate is outside its validity.
Result<void> verify_chain(const std::vector<Bytes>& chain, ByteView ca_der, std::int64_t unix_now);

// Current wall-clock time in unix seconds (for verify_chain's `unix_now`).
std::int64_t unix_seconds_now();

// ---- the node's own identity ----

struct IdentityFiles {
  std::string ca;    // ca.crt: the cluster root, one certificate
  std::string cert;  // cert.crt: leaf first, then intermediates
  std::string key;   // key.pem: the leaf's private key
};

class Identity {
 public:
  // Loads and checks the three files: the chain verifies to ca.crt now, and the key matches the
  // leaf. Errors name the file and say what is wrong with it.
  static Result<Identity> load(const IdentityFiles& files);
  // Same, from PEM text already in memory.
  static Result<Identity> from_pem(std::string_view ca_pem, std::string_view chain_pem,
                                   std::string_view key_pem);

  const NodeId& node_id() const { return node_id_; }
  PartialId partial_id() const { return partial_of(node_id_); }
  std::string text_id() const { return identity::text_id(partial_id()); }
  const ClusterId& cluster_id() const { return cluster_id_; }
  Ipv6 address() const { return address_of(cluster_id_, partial_id()); }
  std::string hostname(std::string_view suffix = kDefaultSuffix) const {
    return identity::hostname(partial_id(), suffix);
  }

  Result<Bytes> sign(ByteView data) const { return key_.sign(data); }
  const PrivateKey& key() const { return key_; }
  PublicKey public_key() const { return key_.public_key(); }

  // PEM text, as loaded (for the TLS layer).
  const std::string& ca_pem() const { return ca_pem_; }
  const std::string& chain_pem() const { return chain_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  const Bytes& ca_der() const { return ca_der_; }
  const std::vector<Bytes>& chain_der() const { return chain_der_; }

  // Checks a peer's chain (leaf first) against our CA, now. Returns the peer's node id.
  Result<NodeId> verify_peer(const std::vector<Bytes>& chain) const;

 private:
  // from_pem with the names errors use for the three inputs (file paths in load()).
  static Result<Identity> from_pem_labeled(std::string ca_pem, std::string chain_pem,
                                           std::string key_pem, const std::string& ca_name,
                                           const std::string& chain_name,
                                           const std::string& key_name);

  NodeId node_id_{};
  ClusterId cluster_id_{};
  PrivateKey key_;
  std::string ca_pem_, chain_pem_, key_pem_;
  Bytes ca_der_;
  std::vector<Bytes> chain_der_;
};

}  // namespace qc::identity
