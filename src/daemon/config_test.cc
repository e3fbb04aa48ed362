#include "daemon/config.h"

#include <gtest/gtest.h>

namespace qc::daemon {
namespace {

constexpr const char* kMinimal = R"(
[identity]
ca = "ca.crt"
cert = "cert.crt"
key = "key.pem"
)";

TEST(Config, MinimalUsesDefaultsAndResolvesPaths) {
  auto c = parse_config(kMinimal, "/etc/qc", "node.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->identity.ca, "/etc/qc/ca.crt");
  EXPECT_EQ(c->identity.key, "/etc/qc/key.pem");
  EXPECT_EQ(c->identity.suffix, "fuse");
  EXPECT_EQ(c->listen.port, 7420);
  EXPECT_EQ(c->listen.address, "::");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->data_dir, "/etc/qc");
  EXPECT_TRUE(c->static_peers.empty());
}

TEST(Config, FullFile) {
  auto c = parse_config(R"(
log_level = "debug"
name = "alpha"
data_dir = "/var/lib/qc"
[identity]
ca = "/pki/ca.crt"
cert = "c.crt"
key = "k.pem"
suffix = "mesh"
[listen]
address = "127.0.0.1"
port = 9000
[peers]
static = ["127.0.0.1:9001", "[::1]:9002", "example.net:7420"]
[session]
idle_timeout = 20
keepalive = 2.5
)",
                        "/x", "n.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->identity.ca, "/pki/ca.crt");
  EXPECT_EQ(c->identity.cert, "/x/c.crt");
  EXPECT_EQ(c->listen.port, 9000);
  ASSERT_EQ(c->static_peers.size(), 3u);
  EXPECT_EQ(c->static_peers[1].host, "::1");
  EXPECT_EQ(c->static_peers[1].port, 9002);
  EXPECT_EQ(c->static_peers[1].to_string(), "[::1]:9002");
  EXPECT_EQ(c->static_peers[2].host, "example.net");
  EXPECT_DOUBLE_EQ(c->session.idle_timeout, 20);
  EXPECT_DOUBLE_EQ(c->session.keepalive, 2.5);
  // Round trip through to_toml.
  auto again = parse_config(to_toml(*c), "/y", "again.toml");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->static_peers.size(), 3u);
  EXPECT_EQ(again->identity.cert, "/x/c.crt");
  EXPECT_EQ(again->listen.port, 9000);
  EXPECT_DOUBLE_EQ(again->session.keepalive, 2.5);
}

// A typo must name the key and the line.
TEST(Config, TypoNamesKeyAndLine) {
  auto c = parse_config("[identity]\nca = \"a\"\ncert = \"b\"\nkey = \"c\"\n\n[listen]\nprot = 5\n",
                        "/", "node.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("node.toml:7"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("listen.prot"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("address, port"), std::string::npos) << c.error().message;
}

TEST(Config, WrongTypesAndRanges) {
  std::string base = std::string(kMinimal);
  auto bad_port = parse_config(base + "[listen]\nport = 70000\n", "/", "n.toml");
  ASSERT_FALSE(bad_port);
  EXPECT_NE(bad_port.error().message.find("n.toml:7: key 'listen.port'"), std::string::npos)
      << bad_port.error().message;
  auto str_port = parse_config(base + "[listen]\nport = \"x\"\n", "/", "n.toml");
  ASSERT_FALSE(str_port);
  EXPECT_NE(str_port.error().message.find("must be a number"), std::string::npos);
  auto bad_peer = parse_config(base + "[peers]\nstatic = [\"nohost\"]\n", "/", "n.toml");
  ASSERT_FALSE(bad_peer);
  EXPECT_NE(bad_peer.error().message.find("peers.static"), std::string::npos);
  auto bad_level = parse_config("log_level = \"loud\"\n" + base, "/", "n.toml");
  ASSERT_FALSE(bad_level);
  EXPECT_NE(bad_level.error().message.find("n.toml:1"), std::string::npos);
  auto keepalive =
      parse_config(base + "[session]\nidle_timeout = 5\nkeepalive = 6\n", "/", "n.toml");
  ASSERT_FALSE(keepalive);
  auto not_table = parse_config(base + "listen = 5\n", "/", "n.toml");
  ASSERT_FALSE(not_table);
}

TEST(Config, SyntaxErrorHasLineAndColumn) {
  auto c = parse_config("[identity]\nca = \"a\"\ncert = \n", "/", "n.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("n.toml:3:"), std::string::npos) << c.error().message;
}

TEST(Config, MissingIdentity) {
  auto c = parse_config("log_level = \"info\"\n", "/", "n.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("[identity]"), std::string::npos);
  auto nokey = parse_config("[identity]\nca = \"a\"\ncert = \"b\"\n", "/", "n.toml");
  ASSERT_FALSE(nokey);
  EXPECT_NE(nokey.error().message.find("'key'"), std::string::npos) << nokey.error().message;
}

TEST(HostPort, Parse) {
  EXPECT_TRUE(parse_host_port("1.2.3.4:5"));
  EXPECT_TRUE(parse_host_port("[fe80::1]:5"));
  EXPECT_FALSE(parse_host_port("fe80::1:5"));
  EXPECT_FALSE(parse_host_port("host:"));
  EXPECT_FALSE(parse_host_port("host:0"));
  EXPECT_FALSE(parse_host_port("host:65536"));
  EXPECT_FALSE(parse_host_port(":80"));
  EXPECT_FALSE(parse_host_port("[::1]80"));
}

}  // namespace
}  // namespace qc::daemon

namespace qc::daemon {
namespace {

TEST(Config, DiscoveryAndRouting) {
  auto c = parse_config(R"(
[identity]
ca = "a"
cert = "b"
key = "c"
[discovery]
enabled = false
port = 9999
allow = ["veth*"]
deny = ["docker*", "br-*"]
[routing]
fanout = 3
wanted_circuits = 1
)",
                        "/", "n.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_FALSE(c->discovery.enabled);
  EXPECT_EQ(c->discovery.port, 9999);
  EXPECT_EQ(c->discovery.allow, std::vector<std::string>{"veth*"});
  EXPECT_EQ(c->discovery.deny.size(), 2u);
  EXPECT_EQ(c->routing.fanout, 3u);
  EXPECT_EQ(c->routing.wanted_circuits, 1u);
  EXPECT_EQ(c->control_socket(), "//control.sock");
  auto again = parse_config(to_toml(*c), "/", "again.toml");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(again->discovery.enabled);
  EXPECT_EQ(again->discovery.deny, c->discovery.deny);
  EXPECT_EQ(again->routing.fanout, 3u);
  auto bad = parse_config("[identity]\nca=\"a\"\ncert=\"b\"\nkey=\"c\"\n[discovery]\nenabled = 1\n",
                          "/", "n.toml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("discovery.enabled"), std::string::npos);
  auto fan = parse_config("[identity]\nca=\"a\"\ncert=\"b\"\nkey=\"c\"\n[routing]\nfanout = 0\n",
                          "/", "n.toml");
  ASSERT_FALSE(fan);
}

}  // namespace
}  // namespace qc::daemon

namespace qc::daemon {
namespace {

TEST(Config, NanIsOutOfRange) {
  auto c = parse_config("[identity]\nca=\"a\"\ncert=\"b\"\nkey=\"c\"\n[session]\nidle_timeout = nan\n",
                        "/", "n.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("session.idle_timeout"), std::string::npos);
}

TEST(Config, SocksAndExpose) {
  auto none = parse_config(kMinimal, "/etc/qc", "node.toml");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->socks.listen);  // no [socks] table: no proxy
  EXPECT_TRUE(none->expose.empty());

  auto on = parse_config(std::string(kMinimal) + "[socks]\n[expose]\nports = [\"8080=127.0.0.1:8000\", \"22\"]\n",
                         "/etc/qc", "node.toml");
  ASSERT_TRUE(on) << on.error().to_string();
  ASSERT_TRUE(on->socks.listen);
  EXPECT_EQ(on->socks.listen->to_string(), "127.0.0.1:1080");  // loopback by default
  EXPECT_EQ(on->expose.size(), 2u);
  // Round trip through to_toml.
  auto again = parse_config(to_toml(*on), "/etc/qc", "again.toml");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(again->socks.listen->to_string(), "127.0.0.1:1080");
  EXPECT_EQ(again->expose, on->expose);

  auto off = parse_config(std::string(kMinimal) + "[socks]\nenabled = false\n", "/etc/qc", "n.toml");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->socks.listen);

  for (const char* bad : {"[socks]\nlisten = \"nowhere\"\n", "[socks]\nusername = \"u\"\n",
                          "[socks]\nlistn = \"127.0.0.1:1\"\n", "[expose]\nports = [\"0\"]\n",
                          "[expose]\nports = [\"80=host:\"]\n", "[expose]\nports = [\"80\", \"80\"]\n"}) {
    auto c = parse_config(std::string(kMinimal) + bad, "/etc/qc", "node.toml");
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("node.toml:"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace qc::daemon

namespace qc::daemon {
namespace {

constexpr const char* kIdentity = "[identity]\nca=\"a\"\ncert=\"b\"\nkey=\"c\"\n";

TEST(Config, VpnDefaultsOff) {
  auto c = parse_config(kIdentity, "/", "n.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_FALSE(c->vpn.enabled);
  EXPECT_EQ(c->vpn.device, "qc0");
  EXPECT_EQ(c->vpn.mtu, 0u);
  EXPECT_TRUE(c->vpn.merge_writes);
}

TEST(Config, VpnKeysAndRoundTrip) {
  auto c = parse_config(std::string(kIdentity) +
                            "[vpn]\nenabled = true\ndevice = \"mesh7\"\n"
                            "mtu = 1350\nmerge_writes = false\n",
                        "/", "n.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->vpn.enabled);
  EXPECT_EQ(c->vpn.device, "mesh7");
  EXPECT_EQ(c->vpn.mtu, 1350u);
  auto again = parse_config(to_toml(*c), "/", "again.toml");
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_TRUE(again->vpn.enabled);
  EXPECT_EQ(again->vpn.device, "mesh7");
  EXPECT_EQ(again->vpn.mtu, 1350u);
  EXPECT_FALSE(again->vpn.merge_writes);

  auto autom = parse_config(std::string(kIdentity) + "[vpn]\nmtu = \"auto\"\n", "/", "n.toml");
  ASSERT_TRUE(autom) << autom.error().to_string();
  EXPECT_EQ(autom->vpn.mtu, 0u);
  auto back = parse_config(to_toml(*autom), "/", "again.toml");
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->vpn.mtu, 0u);
}

TEST(Config, VpnErrorsNameKeyAndLine) {
  struct Case {
    std::string body, key;
  };
  for (const auto& k : std::vector<Case>{
           {"[vpn]\nmtu = 1000\n", "vpn.mtu"},
           {"[vpn]\nmtu = \"big\"\n", "vpn.mtu"},
           {"[vpn]\ndevice = \"a-name-longer-than-15\"\n", "vpn.device"},
           {"[vpn]\ndevice = \"a/b\"\n", "vpn.device"},
           {"[vpn]\nenabled = \"yes\"\n", "vpn.enabled"},
           {"[vpn]\nmerge_writes = 1\n", "vpn.merge_writes"},
           {"[vpn]\nmtuu = 1400\n", "vpn.mtuu"},
           {"vpn = true\n", "vpn"},
       }) {
    std::string text = k.body.starts_with("vpn =") ? k.body + kIdentity : kIdentity + k.body;
    auto c = parse_config(text, "/", "n.toml");
    ASSERT_FALSE(c) << k.body;
    EXPECT_NE(c.error().message.find("'" + k.key + "'"), std::string::npos) << c.error().message;
    EXPECT_NE(c.error().message.find("n.toml:"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace qc::daemon
