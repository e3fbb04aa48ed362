// `qc cert`: make a cluster CA, sign node (or intermediate CA) certificates, print and verify
// them. Modelled on nebula-cert. Files: ca.crt/ca.key (CA), cert.crt/key.pem/ca.crt (node).
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "identity/cert_report.h"
#include "identity/cert_tool.h"
#include "identity/identity.h"

namespace qc::cli {

namespace {

namespace id = qc::identity;

const std::map<std::string, id::KeyType> kKeyTypes = {{"ed25519", id::KeyType::kEd25519},
                                                      {"p256", id::KeyType::kEcdsaP256}};

int fail(const std::string& cmd, const std::string& message) {
  std::cerr << "qc cert " << cmd << ": " << message << "\n";
  return 1;
}

int fail(const std::string& cmd, const Error& e) {
  return fail(cmd, e.message);
}

std::string join_path(const std::string& dir, const char* name) {
  return dir.empty() || dir == "." ? name : dir + "/" + name;
}

// ---- qc cert ca ----

struct CaArgs {
  std::string name;
  std::string out = ".";
  std::int64_t days = id::kDefaultCaDays;
  std::string key_type = "ed25519";
  bool force = false;
};

int run_ca(const CaArgs& a) {
  id::CaOptions opts;
  opts.name = a.name;
  opts.days = a.days;
  opts.key_type = kKeyTypes.at(a.key_type);
  auto ca = id::make_ca(opts);
  if (!ca) return fail("ca", ca.error());
  if (auto w = id::write_ca_files(a.out, *ca, a.force); !w) return fail("ca", w.error());
  auto der = id::parse_pem_certs(ca->cert_pem);
  auto info = der ? id::cert_info(der->front()) : Result<id::CertInfo>(Err(der.error()));
  if (!info) return fail("ca", info.error());
  std::cout << "wrote " << join_path(a.out, "ca.crt") << " and " << join_path(a.out, "ca.key")
            << " (keep ca.key secret; it signs every node)\n"
            << "cluster prefix: " << id::cluster_prefix(info->spki_hash) << "\n"
            << "next: qc cert sign --ca-crt " << join_path(a.out, "ca.crt") << " --ca-key "
            << join_path(a.out, "ca.key") << " --name NODE --out DIR\n";
  return 0;
}

void add_ca(CLI::App& cert, int* exit_code) {
  auto a = std::make_shared<CaArgs>();
  auto* cmd = cert.add_subcommand("ca", "Make a cluster root CA (OUT/ca.crt, OUT/ca.key)");
  cmd->add_option("--name", a->name, "CA name (certificate CN)")->required();
  cmd->add_option("--out", a->out, "output directory (created if missing)")->capture_default_str();
  cmd->add_option("--days", a->days, "validity in days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36600));
  cmd->add_option("--key-type", a->key_type, "key type: ed25519 or p256")
      ->capture_default_str()
      ->check(CLI::IsMember({"ed25519", "p256"}));
  cmd->add_flag("--force", a->force, "overwrite existing files");
  cmd->callback([a, exit_code] { *exit_code = run_ca(*a); });
}

// ---- qc cert sign ----

struct SignArgs {
  std::string ca_crt, ca_key, ca_chain, root;
  std::string name;
  std::string out = ".";
  std::int64_t days = id::kDefaultNodeDays;
  std::string key_type = "ed25519";
  std::string suffix = std::string(id::kDefaultSuffix);
  bool intermediate = false;
  bool force = false;
};

Result<std::string> pem_of(const std::vector<Bytes>& certs, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    auto pem = id::cert_pem_of_der(certs[i]);
    if (!pem) return Err(pem.error());
    out += *pem;
  }
  return out;
}

bool self_signed(const Bytes& der) {
  auto info = id::cert_info(der);
  return info && info->self_signed;
}

// The issuer named by --ca-crt/--ca-key/--ca-chain/--root. --ca-crt may hold the issuer followed
// by its chain, optionally ending with the root.
Result<id::CertAuthority> load_issuer(const SignArgs& a) {
  auto crt_text = id::read_text_file(a.ca_crt);
  if (!crt_text) return Err(crt_text.error());
  auto certs = id::parse_certs_any(*crt_text);
  if (!certs) return Err(certs.error().code, a.ca_crt + ": " + certs.error().message);
  auto key = id::read_text_file(a.ca_key);
  if (!key) return Err(key.error());
  std::size_t end = certs->size();
  std::string root_pem;
  if (!a.root.empty()) {
    auto root_text = id::read_text_file(a.root);
    if (!root_text) return Err(root_text.error());
    auto root = id::parse_certs_any(*root_text);
    if (!root) return Err(root.error().code, a.root + ": " + root.error().message);
    auto pem = id::cert_pem_of_der(root->front());
    if (!pem) return Err(pem.error());
    root_pem = *pem;
  } else if (certs->size() > 1 && self_signed(certs->back())) {
    auto pem = id::cert_pem_of_der(certs->back());
    if (!pem) return Err(pem.error());
    root_pem = *pem;
    end = certs->size() - 1;
  }
  auto issuer_pem = pem_of(*certs, 0, 1);
  if (!issuer_pem) return Err(issuer_pem.error());
  std::string chain_pem;
  if (!a.ca_chain.empty()) {
    auto chain_text = id::read_text_file(a.ca_chain);
    if (!chain_text) return Err(chain_text.error());
    auto chain = id::parse_certs_any(*chain_text);
    if (!chain) return Err(chain.error().code, a.ca_chain + ": " + chain.error().message);
    std::size_t chain_end = chain->size();
    if (chain_end > 0 && self_signed(chain->back())) --chain_end;  // drop a root at the end
    auto p = pem_of(*chain, 0, chain_end);
    if (!p) return Err(p.error());
    chain_pem = *p;
  } else {
    auto p = pem_of(*certs, 1, end);
    if (!p) return Err(p.error());
    chain_pem = *p;
  }
  auto ca = id::CertAuthority::from_pem(*issuer_pem, *key, chain_pem, root_pem);
  if (!ca) return Err(ca.error().code, ca.error().message + " (issuer: " + a.ca_crt + ")");
  return ca;
}

// Prints a note if the issuer's expiry shortened the requested validity.
void note_clamped(const Bytes& der, std::int64_t days) {
  auto info = id::cert_info(der);
  if (!info) return;
  std::int64_t wanted = id::unix_seconds_now() + days * 86400;
  if (info->not_after + 3600 < wanted) {
    std::cout << "note: validity shortened to the issuer's expiry; the certificate expires "
              << id::utc_text(info->not_after) << "\n";
  }
}

int run_sign(const SignArgs& a) {
  auto ca = load_issuer(a);
  if (!ca) return fail("sign", ca.error());
  if (a.intermediate) {
    id::CaOptions opts;
    opts.name = a.name;
    opts.days = a.days;
    opts.key_type = kKeyTypes.at(a.key_type);
    auto inter = id::make_intermediate(*ca, opts);
    if (!inter) return fail("sign", inter.error());
    if (auto w = id::write_ca_files(a.out, *inter, a.force); !w) return fail("sign", w.error());
    if (auto der = id::parse_pem_certs(inter->cert_pem)) note_clamped(der->front(), a.days);
    std::cout << "wrote " << join_path(a.out, "intermediate.crt")
              << " (intermediate, chain, root), " << join_path(a.out, "intermediate.key") << " and "
              << join_path(a.out, "ca.crt") << " (root)\n"
              << "next: qc cert sign --ca-crt " << join_path(a.out, "intermediate.crt")
              << " --ca-key " << join_path(a.out, "intermediate.key") << " --name NODE --out DIR\n";
    return 0;
  }
  id::NodeCertOptions opts;
  opts.name = a.name;
  opts.days = a.days;
  opts.key_type = kKeyTypes.at(a.key_type);
  opts.suffix = a.suffix;
  auto node = id::issue_node_cert(*ca, opts);
  if (!node) return fail("sign", node.error());
  auto files = id::write_node_files(a.out, *node, a.force);
  if (!files) return fail("sign", files.error());
  note_clamped(node->leaf_der, a.days);
  std::cout << "wrote " << files->cert << ", " << files->key << " (0600) and " << files->ca << "\n"
            << "node " << id::text_id(node->node_id) << " ("
            << id::hostname(id::partial_of(node->node_id), a.suffix) << ")\n";
  return 0;
}

void add_sign(CLI::App& cert, int* exit_code) {
  auto a = std::make_shared<SignArgs>();
  auto* cmd = cert.add_subcommand("sign", "Sign a node certificate (or an intermediate CA)");
  cmd->footer(
      "Writes OUT/cert.crt (leaf, then intermediates), OUT/key.pem (mode 0600) and OUT/ca.crt\n"
      "(the root). With --intermediate, writes OUT/intermediate.crt (intermediate, chain, root),\n"
      "OUT/intermediate.key and OUT/ca.crt; sign nodes with those next.");
  cmd->add_option("--ca-crt", a->ca_crt,
                  "issuer certificate (may be followed by its chain and the root)")
      ->required();
  cmd->add_option("--ca-key", a->ca_key, "issuer private key")->required();
  cmd->add_option("--ca-chain", a->ca_chain,
                  "intermediates above the issuer (default: the rest of --ca-crt)");
  cmd->add_option("--root", a->root,
                  "the cluster root CA, when the issuer is an intermediate (default: the last "
                  "certificate of --ca-crt if self-signed)");
  cmd->add_option("--name", a->name, "certificate name (CN), e.g. the host name")->required();
  cmd->add_option("--out", a->out, "output directory (created if missing)")->capture_default_str();
  cmd->add_option("--days", a->days, "validity in days (never past the issuer's expiry)")
      ->capture_default_str()
      ->check(CLI::Range(1, 36600));
  cmd->add_option("--key-type", a->key_type, "key type: ed25519 or p256")
      ->capture_default_str()
      ->check(CLI::IsMember({"ed25519", "p256"}));
  cmd->add_option("--suffix", a->suffix, "hostname suffix for the dNSName <text id>.<suffix>")
      ->capture_default_str();
  cmd->add_flag("--intermediate", a->intermediate, "make an intermediate CA, not a node");
  cmd->add_flag("--force", a->force, "overwrite existing files");
  cmd->callback([a, exit_code] { *exit_code = run_sign(*a); });
}

// ---- qc cert print ----

struct PrintArgs {
  std::vector<std::string> files;
  std::string ca;
  std::string suffix = std::string(id::kDefaultSuffix);
  bool json = false;
};

int run_print(const PrintArgs& a) {
  if (a.files.empty() && a.ca.empty()) {
    return fail("print",
                "name one or more certificate files: qc cert print cert.crt [--ca ca.crt]");
  }
  Bytes ca_der;
  if (!a.ca.empty()) {
    auto text = id::read_text_file(a.ca);
    if (!text) return fail("print", text.error());
    auto certs = id::parse_certs_any(*text);
    if (!certs) return fail("print", a.ca + ": " + certs.error().message);
    ca_der = certs->front();
  }
  std::vector<std::string> files = a.files;
  if (files.empty()) files.push_back(a.ca);
  std::int64_t now = id::unix_seconds_now();
  std::vector<id::CertReport> reports;
  int rc = 0;
  for (const auto& f : files) {
    auto text = id::read_text_file(f);
    if (!text) {
      rc = fail("print", text.error());
      continue;
    }
    auto certs = id::parse_certs_any(*text);
    if (!certs) {
      rc = fail("print", f + ": " + certs.error().message);
      continue;
    }
    for (std::size_t i = 0; i < certs->size(); ++i) {
      std::vector<Bytes> rest(certs->begin() + static_cast<std::ptrdiff_t>(i) + 1, certs->end());
      auto r = id::describe_cert((*certs)[i], ca_der, rest, a.suffix, now);
      if (!r) {
        rc = fail("print", f + ": " + r.error().message);
        continue;
      }
      r->file = f;
      r->index = static_cast<int>(i);
      reports.push_back(std::move(*r));
    }
  }
  if (a.json) {
    std::cout << id::to_json(reports);
  } else {
    for (std::size_t i = 0; i < reports.size(); ++i) {
      std::cout << (i ? "\n" : "") << id::to_text(reports[i]);
    }
  }
  return rc;
}

void add_print(CLI::App& cert, int* exit_code) {
  auto a = std::make_shared<PrintArgs>();
  auto* cmd = cert.add_subcommand("print", "Show certificates, their ids and addresses");
  cmd->footer(
      "Shows subject, issuer, validity, key type, node id, text id and hostname; with --ca,\n"
      "also the IPv6 address, the cluster prefix and whether the chain verifies.");
  cmd->add_option("files", a->files, "certificate files (PEM, several per file allowed, or DER)");
  cmd->add_option("--ca", a->ca, "the cluster's ca.crt, for addresses and the chain check");
  cmd->add_option("--suffix", a->suffix, "hostname suffix")->capture_default_str();
  cmd->add_flag("--json", a->json, "print a JSON array, for scripts");
  cmd->callback([a, exit_code] { *exit_code = run_print(*a); });
}

// ---- qc cert verify ----

struct VerifyArgs {
  std::string ca, cert, key;
};

int run_verify(const VerifyArgs& a) {
  if (!a.key.empty()) {
    auto identity = id::Identity::load({a.ca, a.cert, a.key});
    if (!identity) return fail("verify", "FAILED: " + identity.error().message);
    std::cout << "OK " << identity->text_id() << "\n";
    return 0;
  }
  auto ca_text = id::read_text_file(a.ca);
  if (!ca_text) return fail("verify", "FAILED: " + ca_text.error().message);
  auto ca = id::parse_certs_any(*ca_text);
  if (!ca) return fail("verify", "FAILED: " + a.ca + ": " + ca.error().message);
  auto cert_text = id::read_text_file(a.cert);
  if (!cert_text) return fail("verify", "FAILED: " + cert_text.error().message);
  auto chain = id::parse_certs_any(*cert_text);
  if (!chain) return fail("verify", "FAILED: " + a.cert + ": " + chain.error().message);
  if (auto v = id::verify_chain(*chain, ca->front(), id::unix_seconds_now()); !v) {
    return fail("verify", "FAILED: " + a.cert + " does not verify against " + a.ca + ": " +
                              v.error().message);
  }
  auto node = id::node_id_of_cert_der(chain->front());
  if (!node) return fail("verify", "FAILED: " + node.error().message);
  std::cout << "OK " << id::text_id(*node) << "\n";
  return 0;
}

void add_verify(CLI::App& cert, int* exit_code) {
  auto a = std::make_shared<VerifyArgs>();
  auto* cmd = cert.add_subcommand("verify", "Check a certificate chain (and key) against a CA");
  cmd->footer(
      "Prints \"OK <text id>\" when the chain verifies against the CA now (and, with --key, the\n"
      "key matches the certificate); otherwise prints the reason and exits 1.");
  cmd->add_option("--ca", a->ca, "the cluster's ca.crt")->required();
  cmd->add_option("--cert", a->cert, "cert.crt (leaf, then intermediates)")->required();
  cmd->add_option("--key", a->key, "key.pem, to check it matches the certificate");
  cmd->callback([a, exit_code] { *exit_code = run_verify(*a); });
}

}  // namespace

void add_cert_command(CLI::App& root, int* exit_code) {
  auto* cert = root.add_subcommand(
      "cert", "Make and inspect certificates: a cluster CA, node certificates signed by it");
  cert->require_subcommand(1);
  add_ca(*cert, exit_code);
  add_sign(*cert, exit_code);
  add_print(*cert, exit_code);
  add_verify(*cert, exit_code);
}

}  // namespace qc::cli
