// Identity: the node's own certificate chain, key and CA, loaded and cross-checked.
#include <fstream>
#include <sstream>

#include "identity/identity.h"

namespace qc::identity {

namespace {

Result<std::string> read_file(const std::string& path, const char* what) {
  if (path.empty()) return Err(Errc::kInvalidArgument, std::string("no path given for ") + what);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Err(Errc::kNotFound, "cannot open " + std::string(what) + " '" + path +
                                    "'; check the path (make files with `qc cert`)");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1u << 20)) {
    return Err(Errc::kTooLarge, std::string(what) + " '" + path + "' is larger than 1 MiB");
  }
  return ss.str();
}

}  // namespace

Result<Identity> Identity::from_pem(std::string_view ca_pem, std::string_view chain_pem,
                                    std::string_view key_pem) {
  return from_pem_labeled(std::string(ca_pem), std::string(chain_pem), std::string(key_pem),
                          "the CA certificate", "the certificate chain", "the private key");
}

Result<Identity> Identity::load(const IdentityFiles& files) {
  auto ca = read_file(files.ca, "the CA certificate");
  if (!ca) return Err(ca.error());
  auto chain = read_file(files.cert, "the certificate");
  if (!chain) return Err(chain.error());
  auto key = read_file(files.key, "the private key");
  if (!key) return Err(key.error());
  return from_pem_labeled(std::move(*ca), std::move(*chain), std::move(*key), files.ca, files.cert,
                          files.key);
}

Result<Identity> Identity::from_pem_labeled(std::string ca_pem, std::string chain_pem,
                                            std::string key_pem, const std::string& ca_name,
                                            const std::string& chain_name,
                                            const std::string& key_name) {
  auto ca_list = parse_pem_certs(ca_pem);
  if (!ca_list) return Err(Errc::kParse, ca_name + ": " + ca_list.error().message);
  auto ca_info = cert_info(ca_list->front());
  if (!ca_info) return Err(Errc::kParse, ca_name + ": " + ca_info.error().message);
  if (!ca_info->is_ca) {
    return Err(Errc::kVerify, ca_name + ": '" + ca_info->subject +
                                  "' is not a CA certificate; point at the cluster's ca.crt");
  }
  auto chain = parse_pem_certs(chain_pem);
  if (!chain) return Err(Errc::kParse, chain_name + ": " + chain.error().message);
  auto key = PrivateKey::from_pem(key_pem);
  if (!key) return Err(key.error().code, key_name + ": " + key.error().message);

  if (auto v = verify_chain(*chain, ca_list->front(), unix_seconds_now()); !v) {
    return Err(v.error().code,
               chain_name + " does not verify against " + ca_name + ": " + v.error().message);
  }
  auto leaf_key = PublicKey::from_cert_der(chain->front());
  if (!leaf_key) return Err(leaf_key.error().code, chain_name + ": " + leaf_key.error().message);
  if (leaf_key->spki_der() != key->public_key().spki_der()) {
    return Err(Errc::kVerify, key_name + " does not match the certificate in " + chain_name +
                                  "; use the key.pem made together with that cert.crt");
  }

  Identity id;
  id.node_id_ = leaf_key->node_id();
  id.cluster_id_ = ca_info->spki_hash;
  id.key_ = std::move(*key);
  id.ca_der_ = std::move(ca_list->front());
  id.chain_der_ = std::move(*chain);
  id.ca_pem_ = std::move(ca_pem);
  id.chain_pem_ = std::move(chain_pem);
  id.key_pem_ = std::move(key_pem);
  return id;
}

Result<NodeId> Identity::verify_peer(const std::vector<Bytes>& chain) const {
  QC_TRY(verify_chain(chain, ca_der_, unix_seconds_now()));
  return node_id_of_cert_der(chain.front());
}

}  // namespace qc::identity
