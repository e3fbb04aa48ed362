#include "identity/cert_report.h"

#include <nlohmann/json.hpp>

#include "identity/gnutls_util.h"

namespace qc::identity {

Result<CertReport> describe_cert(ByteView cert_der, ByteView ca_der,
                                 const std::vector<Bytes>& chain_der, std::string_view suffix,
                                 std::int64_t unix_now) {
  auto info = cert_info(cert_der);
  if (!info) return Err(info.error());
  CertReport r;
  r.info = *info;
  r.kind = !info->is_ca ? "node" : info->self_signed ? "root CA" : "intermediate CA";
  r.validity = unix_now < info->not_before  ? "not yet valid"
               : unix_now > info->not_after ? "EXPIRED"
                                            : "valid";
  r.node_id = to_hex(info->spki_hash);
  r.text_id = text_id(info->spki_hash);
  if (!info->is_ca) r.hostname = hostname(partial_of(info->spki_hash), suffix);
  std::optional<ClusterId> cluster;
  if (info->is_ca && info->self_signed) cluster = info->spki_hash;
  if (!ca_der.empty()) {
    auto ca = cert_info(ca_der);
    if (!ca) return Err(Errc::kParse, "the CA certificate: " + ca.error().message);
    cluster = ca->spki_hash;
    if (!(info->is_ca && info->self_signed)) {
      std::vector<Bytes> path{Bytes(cert_der.begin(), cert_der.end())};
      path.insert(path.end(), chain_der.begin(), chain_der.end());
      auto v = detail::verify_path(path, ca_der, unix_now, true);
      r.chain = v ? "ok" : v.error().message;
    }
  }
  if (cluster) {
    r.cluster_id = to_hex(*cluster);
    r.cluster_prefix = cluster_prefix(*cluster);
    if (!info->is_ca) r.ipv6 = ipv6_to_string(address_of(*cluster, partial_of(info->spki_hash)));
  }
  return r;
}

std::string utc_text(std::int64_t unix_seconds) {
  return detail::format_unix_time(unix_seconds);
}

std::string to_text(const CertReport& r) {
  std::string s;
  auto line = [&](const char* key, const std::string& value) {
    if (!value.empty()) s += std::string(key) + ": " + value + "\n";
  };
  line("file", r.file.empty() ? "" : r.file + (r.index ? " #" + std::to_string(r.index) : ""));
  line("kind", r.kind);
  line("subject", r.info.subject);
  line("issuer", r.info.issuer);
  std::string validity = detail::format_unix_time(r.info.not_before) + " to " +
                         detail::format_unix_time(r.info.not_after);
  if (r.validity != "valid") validity += " (" + r.validity + ")";
  line("validity", validity);
  line("key type", r.info.key_algorithm + (r.info.key_supported ? "" : " (not supported)"));
  if (r.kind == "root CA") {
    line("cluster id", r.cluster_id);
    line("cluster prefix", r.cluster_prefix);
    line("text id", r.text_id);
  } else {
    line(r.kind == "node" ? "node id" : "key id", r.node_id);
    line("text id", r.text_id);
    line("hostname", r.hostname);
    line("ipv6", r.ipv6);
    line("cluster prefix", r.cluster_prefix);
  }
  std::string names;
  for (const auto& n : r.info.dns_names) names += (names.empty() ? "" : ", ") + n;
  line("dns names", names);
  line("serial", r.info.serial);
  line("chain", r.chain);
  return s;
}

std::string to_json(const std::vector<CertReport>& reports) {
  auto time_text = [](std::int64_t t) {
    std::string s = detail::format_unix_time(t);  // "YYYY-MM-DD HH:MM:SS UTC"
    return s.substr(0, 10) + "T" + s.substr(11, 8) + "Z";
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json j;
    j["file"] = r.file;
    j["index"] = r.index;
    j["kind"] = r.kind;
    j["subject"] = r.info.subject;
    j["issuer"] = r.info.issuer;
    j["common_name"] = r.info.common_name;
    j["not_before"] = r.info.not_before;
    j["not_after"] = r.info.not_after;
    j["not_before_text"] = time_text(r.info.not_before);
    j["not_after_text"] = time_text(r.info.not_after);
    j["validity"] = r.validity;
    j["is_ca"] = r.info.is_ca;
    j["key_type"] = r.info.key_algorithm;
    j["key_supported"] = r.info.key_supported;
    j["spki_sha256"] = r.node_id;
    j["text_id"] = r.text_id;
    j["dns_names"] = r.info.dns_names;
    j["serial"] = r.info.serial;
    if (r.kind == "node") {
      j["node_id"] = r.node_id;
      j["hostname"] = r.hostname;
    }
    if (!r.cluster_id.empty()) {
      j["cluster_id"] = r.cluster_id;
      j["cluster_prefix"] = r.cluster_prefix;
    }
    if (!r.ipv6.empty()) j["ipv6"] = r.ipv6;
    if (!r.chain.empty()) j["chain"] = r.chain;
    out.push_back(std::move(j));
  }
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace qc::identity
