// Throwaway PKIs for transport and link tests: a CA and node credentials made in memory.
#pragma once

#include <ctime>
#include <string>

#include "identity/cert_tool.h"
#include "transport/tls_context.h"

namespace qc::transport::testing {

struct TestNode {
  TlsCredentials creds;
  identity::NodeId node_id{};
};

inline identity::CertAuthority make_test_ca(const std::string& name) {
  auto ca = identity::make_ca({.name = name});
  if (!ca) std::abort();
  return *ca;
}

// A node certificate from `ca`. `expired`: validity ended an hour ago.
inline TestNode make_test_node(const identity::CertAuthority& ca, const std::string& name,
                               bool expired = false) {
  identity::NodeCertOptions opts{.name = name};
  if (expired) {
    std::int64_t now = std::time(nullptr);
    opts.not_before = now - 7200;
    opts.not_after = now - 3600;
  }
  auto cert = identity::issue_node_cert(ca, opts);
  if (!cert) std::abort();
  TestNode n;
  n.creds = TlsCredentials{cert->ca_pem, cert->cert_pem, cert->key_pem, false};
  n.node_id = cert->node_id;
  return n;
}

// `n`'s certificate with the key of `other`: the handshake signature cannot match.
inline TestNode with_wrong_key(TestNode n, const TestNode& other) {
  n.creds.key_pem = other.creds.key_pem;
  n.creds.allow_key_mismatch_for_tests = true;
  return n;
}

}  // namespace qc::transport::testing
