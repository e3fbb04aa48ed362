// Socks5Server with real clients: curl (single and 200 in parallel), 200 concurrent raw
// connections, and malformed clients next to a good one.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "front/socks5_server.h"
#include "front/test_support.h"
#include "identity/identity.h"

namespace qc::front {
namespace {

using testing::Client;
using testing::IoThread;

constexpr std::uint16_t kEchoPort = 7;
constexpr std::uint16_t kHttpPort = 8080;

std::string peer_host() {
  identity::NodeId id{};
  id[0] = 0x42;
  id[9] = 0x17;
  return identity::hostname(identity::partial_of(id));
}

Bytes connect_request(std::uint16_t port) {
  socks5::Address a;
  a.type = socks5::AddressType::kDomain;
  a.domain = peer_host();
  a.port = port;
  Bytes in = socks5::encode_greeting({socks5::Method::kNoAuth});
  Bytes req = socks5::encode_request(socks5::Command::kConnect, a).value();
  in.insert(in.end(), req.begin(), req.end());
  return in;
}

bool socks_connect(Client& c, std::uint16_t port) {
  if (!c.send(connect_request(port))) return false;
  Bytes r = c.recv_exact(12);
  return r.size() == 12 && r[1] == 0x00 && r[3] == 0x00;
}

bool have_curl() {
  return std::system("curl --version >/dev/null 2>&1") == 0;
}

// Checks that `path` holds exactly body bytes 0..n.
::testing::AssertionResult file_is_body(const std::filesystem::path& path, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  Bytes got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (got.size() != n) {
    return ::testing::AssertionFailure() << path << ": " << got.size() << " bytes, want " << n;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (got[i] != testing::body_byte(i)) {
      return ::testing::AssertionFailure() << path << ": byte " << i << " differs";
    }
  }
  return ::testing::AssertionSuccess();
}

class Socks5LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 200 proxied connections use ~4 descriptors each here (client, server, dialer, backend).
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < 4096 && r.rlim_max > r.rlim_cur) {
      r.rlim_cur = std::min<rlim_t>(r.rlim_max, 4096);
      setrlimit(RLIMIT_NOFILE, &r);
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("qc-front-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    io_.call([&] {
      echo_ = std::make_unique<testing::Backend>(io_.io, testing::serve_echo);
      http_ = std::make_unique<testing::Backend>(io_.io, testing::serve_http);
      dialer_ = std::make_unique<testing::ScriptedDialer>(io_.io);
      dialer_->ports[kEchoPort] = echo_->port();
      dialer_->ports[kHttpPort] = http_->port();
      Socks5ServerOptions o;
      o.port = 0;
      auto s = Socks5Server::start(io_.io, o, *dialer_);
      EXPECT_TRUE(s);
      server_ = std::move(*s);
      port_ = server_->local_endpoint().port();
      return 0;
    });
  }
  void TearDown() override {
    io_.call([&] {
      server_.reset();
      dialer_.reset();
      echo_.reset();
      http_.reset();
      return 0;
    });
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string curl_base() const {
    return "curl -sS --fail --max-time 120 --socks5-hostname 127.0.0.1:" + std::to_string(port_);
  }
  std::string url(std::size_t n) const {
    return "http://" + peer_host() + ":" + std::to_string(kHttpPort) + "/bytes/" +
           std::to_string(n);
  }

  IoThread io_;
  std::unique_ptr<testing::Backend> echo_, http_;
  std::unique_ptr<testing::ScriptedDialer> dialer_;
  std::unique_ptr<Socks5Server> server_;
  std::uint16_t port_ = 0;
  std::filesystem::path dir_;
};

TEST_F(Socks5LoadTest, CurlFetchesALargeBody) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  constexpr std::size_t kSize = 8 * 1024 * 1024 + 17;
  auto out = dir_ / "body";
  std::string cmd = curl_base() + " -o " + out.string() + " " + url(kSize);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_TRUE(file_is_body(out, kSize));
}

TEST_F(Socks5LoadTest, CurlRefusedForAnOutsideHost) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  // curl exits 97 ("proxy handshake error") when the proxy refuses the request.
  std::string cmd = curl_base() + " -o /dev/null http://example.com/ 2>/dev/null";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  EXPECT_EQ(io_.call([&] { return dialer_->dials; }), 0u);  // refused before any dial
}

TEST_F(Socks5LoadTest, TwoHundredParallelCurlFetches) {
  if (!have_curl()) GTEST_SKIP() << "curl is not installed";
  constexpr int kCount = 200;
  std::string cmd =
      curl_base() + " --parallel --parallel-immediate --parallel-max " + std::to_string(kCount);
  for (int i = 0; i < kCount; ++i) {
    cmd += " -o " + (dir_ / ("f" + std::to_string(i))).string() + " " + url(20000 + 997 * i);
  }
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  for (int i = 0; i < kCount; ++i) {
    EXPECT_TRUE(file_is_body(dir_ / ("f" + std::to_string(i)), 20000 + 997 * i));
  }
  EXPECT_EQ(io_.call([&] { return dialer_->dials; }), static_cast<std::size_t>(kCount));
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(Socks5LoadTest, TwoHundredConcurrentConnectionsStayIntact) {
  constexpr int kCount = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kCount; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_TRUE(socks_connect(*clients.back(), kEchoPort)) << i;
  }
  EXPECT_EQ(io_.call([&] { return server_->connection_count(); }),
            static_cast<std::size_t>(kCount));
  // Interleave: every client sends its own pattern in two halves, then all read back.
  auto payload = [](int i) {
    Bytes p(30000 + static_cast<std::size_t>(i));
    for (std::size_t k = 0; k < p.size(); ++k) p[k] = static_cast<std::uint8_t>(k * 31 + i);
    return p;
  };
  for (int half = 0; half < 2; ++half) {
    for (int i = 0; i < kCount; ++i) {
      Bytes p = payload(i);
      std::size_t mid = p.size() / 2;
      ByteView part =
          half == 0 ? ByteView(p.data(), mid) : ByteView(p.data() + mid, p.size() - mid);
      ASSERT_TRUE(clients[i]->send(part));
    }
  }
  for (int i = 0; i < kCount; ++i) {
    Bytes p = payload(i);
    EXPECT_EQ(clients[i]->recv_exact(p.size()), p) << i;
  }
  clients.clear();
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(Socks5LoadTest, MalformedClientsDoNotDisturbAGoodOne) {
  Client good(port_);
  ASSERT_TRUE(socks_connect(good, kEchoPort));
  ASSERT_TRUE(good.send("before"));
  EXPECT_EQ(as_chars(good.recv_exact(6)), "before");

  Bytes oversized{0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x03, 0xff};
  oversized.resize(oversized.size() + 1024 * 1024, 'a');
  Bytes truncated = connect_request(kEchoPort);
  truncated.resize(truncated.size() - 3);
  Bytes bind = connect_request(kEchoPort);
  bind[4] = 0x02;
  Bytes bad_atyp{0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x09, 1, 2, 3, 4, 0, 80};
  Bytes bad_req_version = connect_request(kEchoPort);
  bad_req_version[3] = 0x04;
  Bytes garbage(70000);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = testing::body_byte(i * 7);
  garbage[0] = 0x05;
  struct Case {
    const char* name;
    Bytes input;
    Bytes expect;  // what the server answers before it closes (possibly nothing)
  };
  std::vector<Case> cases = {
      {"socks4", Bytes{0x04, 0x01, 0x00, 0x50, 127, 0, 0, 1, 0}, {}},
      {"http",
       Bytes(as_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n").begin(),
             as_bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n").end()),
       {}},
      {"no methods", Bytes{0x05, 0x00}, Bytes{0x05, 0xff}},
      {"truncated then EOF", truncated, Bytes{0x05, 0x00}},
      {"bind", bind, Bytes{0x05, 0x00, 0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0}},
      {"address type 9", bad_atyp, Bytes{0x05, 0x00, 0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0}},
      {"request version 4", bad_req_version,
       Bytes{0x05, 0x00, 0x05, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0}},
      // 255-byte outside name, then a megabyte the server never reads: refused by ruleset.
      {"oversized", oversized, Bytes{0x05, 0x00, 0x05, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0}},
      {"garbage", garbage, {}},
      {"empty", Bytes{}, {}},
  };
  for (const Case& k : cases) {
    Client bad(port_);
    ASSERT_TRUE(bad.connected());
    bad.send(k.input);  // may fail midway once the server has closed
    bad.shutdown_write();
    Bytes got = bad.recv_all();
    if (std::string(k.name) == "garbage") {
      // Whatever the random bytes mean, the answer is at most a method reply and a reply.
      EXPECT_LE(got.size(), 12u) << k.name;
    } else {
      EXPECT_EQ(got, k.expect) << k.name;
    }
    // The good connection still works after each one.
    std::string msg = std::string("after ") + k.name;
    ASSERT_TRUE(good.send(msg));
    EXPECT_EQ(as_chars(good.recv_exact(msg.size())), msg);
  }
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 1; }));
}

}  // namespace
}  // namespace qc::front
