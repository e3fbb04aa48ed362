// CertReport: what `qc cert print` shows about a certificate, for people (text) and scripts (JSON).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "identity/identity.h"

namespace qc::identity {

struct CertReport {
  std::string file;  // where the certificate came from ("" if not from a file)
  int index = 0;     // its position in that file, from 0
  CertInfo info;
  std::string kind;      // "root CA", "intermediate CA" or "node"
  std::string validity;  // "valid", "EXPIRED" or "not yet valid", at the report's time
  std::string node_id;   // hex SPKI hash: the node id (node) or cluster id (root CA)
  std::string text_id;
  std::string hostname;  // nodes only: "<text id>.<suffix>"
  // With a CA (or for a root CA itself):
  std::string cluster_id;      // hex
  std::string cluster_prefix;  // "fdcc:xxxx:xxxx::/48"
  std::string ipv6;            // nodes only
  // With a CA, for nodes and intermediates: "ok" or why the chain does not verify.
  std::string chain;
};

// Describes `cert_der`. `ca_der` (may be empty) is the cluster root used for the address and the
// chain check; `chain_der` holds intermediates that follow the certificate in its file.
Result<CertReport> describe_cert(ByteView cert_der, ByteView ca_der,
                                 const std::vector<Bytes>& chain_der, std::string_view suffix,
                                 std::int64_t unix_now);

// "YYYY-MM-DD HH:MM:SS UTC" for unix seconds.
std::string utc_text(std::int64_t unix_seconds);

// Human-readable, one "key: value" per line.
std::string to_text(const CertReport& r);
// A JSON array of objects with the same fields (times as unix seconds and RFC 3339 text).
std::string to_json(const std::vector<CertReport>& reports);

}  // namespace qc::identity
