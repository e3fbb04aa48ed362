// Node on loopback, in one process: static peers named by host name are looked up without
// blocking the loop and reach a session; a node destroyed with a lookup, a ping or a trace still
// pending leaves nothing behind that touches it; what per-interface links bind.
#include "daemon/node.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "daemon/node_internal.h"
#include "identity/cert_tool.h"

namespace qc::daemon {
namespace {

class NodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/qc-node-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ca = identity::make_ca({.name = "node test CA"});
    ASSERT_TRUE(ca);
    ca_ = *ca;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  NodeConfig config(const std::string& name) {
    auto files = identity::make_node_files(dir_ + "/" + name, ca_, name);
    EXPECT_TRUE(files) << files.error().to_string();
    NodeConfig c;
    c.name = name;
    c.log_level = "warn";
    c.data_dir = dir_ + "/" + name;
    c.identity.ca = files->ca;
    c.identity.cert = files->cert;
    c.identity.key = files->key;
    c.listen.address = "127.0.0.1";
    c.listen.port = 0;
    c.discovery.enabled = false;
    return c;
  }

  std::unique_ptr<Node> start(NodeConfig c) {
    auto n = Node::create(io_, std::move(c));
    EXPECT_TRUE(n) << n.error().to_string();
    auto r = (*n)->start();
    EXPECT_TRUE(r) << r.error().to_string();
    return std::move(*n);
  }

  // Runs the loop until `done()` or 30 s pass (a bound for a broken build, not a measurement).
  bool run_until(const std::function<bool()>& done) {
    auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done() && std::chrono::steady_clock::now() < limit)
      io_.run_for(std::chrono::milliseconds(20));
    return done();
  }

  asio::io_context io_;
  std::string dir_;
  identity::CertAuthority ca_;
};

TEST_F(NodeTest, StaticPeerByHostNameComesUpAndTraceShowsTheHop) {
  auto a = start(config("alpha"));
  NodeConfig bc = config("beta");
  bc.static_peers.push_back({"localhost", a->port()});
  auto b = start(bc);
  bool up = false;
  b->on_session_change = [&](const SessionView& v, bool is_up) {
    if (is_up && v.peer_id == a->identity().node_id()) up = true;
  };
  ASSERT_TRUE(run_until([&] { return up; }));

  // A direct circuit: one hop, alpha, described by beta's own session.
  std::optional<Result<nlohmann::json>> got;
  b->trace(a->identity().text_id(), 3, 10 * kMillisecond, 5 * kSecond, 20 * kSecond,
           [&](Result<nlohmann::json> r) { got = std::move(r); });
  ASSERT_TRUE(run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(*got) << got->error().to_string();
  const nlohmann::json& j = **got;
  ASSERT_FALSE(j["circuits"].empty()) << j.dump();
  for (const auto& c : j["circuits"]) {
    EXPECT_EQ(c["sent"], 3);
    EXPECT_GE(c["answered"].get<int>(), 1) << c.dump();
    ASSERT_EQ(c["hops"].size(), 1u) << c.dump();
    EXPECT_EQ(c["hops"][0]["peer"], a->identity().text_id());
    EXPECT_TRUE(c["hops"][0]["rtt_ms"]["median"].is_number()) << c.dump();
    EXPECT_EQ(c["relays_reported"], 0);
  }
  b->stop();
  a->stop();
}

TEST_F(NodeTest, DestroyedWithLookupPingAndTracePending) {
  auto a = start(config("alpha"));
  NodeConfig bc = config("beta");
  bc.static_peers.push_back({"localhost", a->port()});
  bc.static_peers.push_back({"name.invalid", 7420});
  auto b = start(bc);
  bool up = false;
  b->on_session_change = [&](const SessionView&, bool is_up) { up = up || is_up; };
  ASSERT_TRUE(run_until([&] { return up; }));
  int answered = 0;
  auto expect_error = [&](const auto& r) {
    EXPECT_FALSE(r);
    ++answered;
  };
  // Long jobs to alpha (their circuit and channel still opening), a connect to a node nobody
  // knows (its probes out), and the name.invalid lookup retrying: all pending when beta goes.
  b->ping(a->identity().text_id(), 100, kSecond, 30 * kSecond, expect_error);
  b->trace(a->identity().text_id(), 100, kSecond, kSecond, 30 * kSecond, expect_error);
  b->connect("aaaaaaaaaaaaaaaa", 30 * kSecond, expect_error);
  io_.poll();
  b->on_session_change = nullptr;
  b.reset();
  EXPECT_EQ(answered, 3);  // told, with an error, before the node went
  // What beta queued or still runs (a lookup finishes on Asio's resolver thread) must not touch
  // it now.
  io_.run_for(std::chrono::seconds(1));
  a->stop();
  a.reset();
  io_.restart();
  io_.run_for(std::chrono::milliseconds(200));
}

TEST(InterfaceBindAddress, FollowsListenAddress) {
  discovery::Interface itf;
  itf.name = "eth0";
  itf.index = 3;
  itf.ipv4 = asio::ip::make_address_v4("10.1.2.3");
  itf.link_local = asio::ip::make_address_v6("fe80::1");
  itf.link_local->scope_id(3);
  auto text = [&](const std::string& listen) {
    auto a = interface_bind_address(listen, 7420, itf);
    return a ? a->to_string() : std::string("none");
  };
  EXPECT_EQ(text("::"), "[::]:7420");
  EXPECT_EQ(text("[::]"), "[::]:7420");
  EXPECT_EQ(text("0.0.0.0"), "0.0.0.0:7420");
  EXPECT_EQ(text("10.1.2.3"), "10.1.2.3:7420");
  EXPECT_EQ(text("10.1.2.4"), "none");  // on another interface: the listen link serves this one
  EXPECT_EQ(text("2001:db8::1"), "none");
  EXPECT_EQ(text("not an address"), "none");
  auto ll = interface_bind_address("fe80::1", 7420, itf);
  ASSERT_TRUE(ll);
  EXPECT_EQ(ll->family(), AF_INET6);
  EXPECT_EQ(reinterpret_cast<const sockaddr_in6*>(ll->sockaddr_ptr())->sin6_scope_id, 3u);
}

}  // namespace
}  // namespace qc::daemon
