#include "identity/cert_tool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

namespace qc::identity {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qc-identity-XXXXXX").string();
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

TEST(CertToolTest, RootAndNodeFiles) {
  TempDir tmp;
  auto ca = make_ca({.name = "test CA"});
  ASSERT_TRUE(ca) << ca.error().to_string();
  ASSERT_TRUE(write_ca_files(tmp.path() + "/ca", *ca));
  EXPECT_EQ(mode_of(tmp.path() + "/ca/ca.key"), 0600u);
  EXPECT_EQ(mode_of(tmp.path() + "/ca/ca.crt"), 0644u);
  auto again = write_ca_files(tmp.path() + "/ca", *ca);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kExists);
  EXPECT_NE(again.error().message.find("--force"), std::string::npos);
  EXPECT_TRUE(write_ca_files(tmp.path() + "/ca", *ca, true));

  auto files = make_node_files(tmp.path() + "/a", *ca, "node-a");
  ASSERT_TRUE(files) << files.error().to_string();
  EXPECT_EQ(mode_of(files->key), 0600u);
  auto id = Identity::load(*files);
  ASSERT_TRUE(id) << id.error().to_string();
  auto ca_info = cert_info(parse_pem_certs(ca->cert_pem)->front());
  ASSERT_TRUE(ca_info);
  EXPECT_EQ(id->cluster_id(), ca_info->spki_hash);

  auto leaf = cert_info(id->chain_der().front());
  ASSERT_TRUE(leaf);
  EXPECT_EQ(leaf->common_name, "node-a");
  ASSERT_EQ(leaf->dns_names.size(), 1u);
  EXPECT_EQ(leaf->dns_names[0], id->hostname());
  EXPECT_LE(leaf->not_after, ca_info->not_after);

  auto overwrite = make_node_files(tmp.path() + "/a", *ca, "node-a");
  ASSERT_FALSE(overwrite);
  EXPECT_EQ(overwrite.error().code, Errc::kExists);
  auto forced = make_node_files(tmp.path() + "/a", *ca, "node-a2", true);
  ASSERT_TRUE(forced);
  auto id2 = Identity::load(*forced);
  ASSERT_TRUE(id2);
  EXPECT_NE(id2->node_id(), id->node_id());
  EXPECT_TRUE(id->verify_peer(id2->chain_der()));
}

TEST(CertToolTest, IntermediateAndP256) {
  TempDir tmp;
  auto ca = make_ca({.name = "root", .days = 30, .key_type = KeyType::kEcdsaP256});
  ASSERT_TRUE(ca) << ca.error().to_string();
  auto inter = make_intermediate(*ca, {.name = "inter"});
  ASSERT_TRUE(inter) << inter.error().to_string();
  auto node = issue_node_cert(*inter, {.name = "n", .days = 365, .suffix = "mesh"});
  ASSERT_TRUE(node) << node.error().to_string();
  EXPECT_EQ(node->ca_pem, ca->cert_pem);
  auto files = write_node_files(tmp.path(), *node);
  ASSERT_TRUE(files);
  auto id = Identity::load(*files);
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(id->chain_der().size(), 2u);
  EXPECT_EQ(id->node_id(), node->node_id);
  auto info = cert_info(node->leaf_der);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->dns_names.at(0), id->hostname("mesh"));
  // Clamped to the root's 30 days, though 365 were asked (the intermediate was clamped too).
  auto root_info = cert_info(parse_pem_certs(ca->cert_pem)->front());
  EXPECT_LE(info->not_after, root_info->not_after);

  // The intermediate reloads from its files with the chain.
  ASSERT_TRUE(write_ca_files(tmp.path() + "/inter", *inter));
  auto reloaded = CertAuthority::from_pem(inter->cert_pem, inter->key_pem, "", ca->cert_pem);
  ASSERT_TRUE(reloaded) << reloaded.error().to_string();
  auto no_root = CertAuthority::from_pem(inter->cert_pem, inter->key_pem);
  ASSERT_FALSE(no_root);
  EXPECT_NE(no_root.error().message.find("--root"), std::string::npos);
  auto wrong_key = CertAuthority::from_pem(ca->cert_pem, inter->key_pem);
  EXPECT_FALSE(wrong_key);
}

TEST(CertToolTest, ExpiredAndBadInput) {
  auto ca = make_ca({.name = "root"});
  ASSERT_TRUE(ca);
  std::int64_t now = unix_seconds_now();
  auto old = issue_node_cert(*ca, {.name = "old", .not_before = now - 200, .not_after = now - 100});
  ASSERT_TRUE(old) << old.error().to_string();
  auto r =
      verify_chain(*parse_pem_certs(old->cert_pem), parse_pem_certs(ca->cert_pem)->front(), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kExpired);
  EXPECT_FALSE(make_ca({.name = ""}));
  EXPECT_FALSE(make_ca({.name = std::string(65, 'x')}));
  EXPECT_FALSE(make_ca({.name = "x", .days = 0}));
  EXPECT_FALSE(issue_node_cert(*ca, {.name = "bad", .suffix = ""}));
  CertAuthority garbage{"junk", "junk", "", ""};
  EXPECT_FALSE(issue_node_cert(garbage, {.name = "n"}));
  // A node certificate cannot issue.
  auto leaf = issue_node_cert(*ca, {.name = "leaf"});
  ASSERT_TRUE(leaf);
  CertAuthority not_ca{leaf->cert_pem, leaf->key_pem, "", ca->cert_pem};
  EXPECT_FALSE(issue_node_cert(not_ca, {.name = "n"}));
}

}  // namespace
}  // namespace qc::identity
