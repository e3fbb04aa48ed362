// The C++ API on real nodes: three qc::Node in one process on loopback, A - R - B (A and B know
// only R), so every stream and datagram between A and B crosses R's data plane.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "identity/cert_tool.h"
#include "identity/identity.h"
#include "qc/node.h"

namespace qc {
namespace {

namespace fs = std::filesystem;

struct Pki {
  fs::path dir;
  identity::CertAuthority ca;
};

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Node files in dir/name; returns the TOML for it.
std::string node_toml(const Pki& pki, const std::string& name, const std::string& extra) {
  auto cert = identity::issue_node_cert(pki.ca, {.name = name});
  EXPECT_TRUE(cert) << cert.error().message;
  fs::path d = pki.dir / name;
  fs::create_directories(d);
  write_file(d / "ca.crt", cert->ca_pem);
  write_file(d / "cert.crt", cert->cert_pem);
  write_file(d / "key.pem", cert->key_pem);
  return "log_level = \"warn\"\nname = \"" + name + "\"\ndata_dir = \"" + d.string() +
         "\"\n[identity]\nca = \"ca.crt\"\ncert = \"cert.crt\"\nkey = \"key.pem\"\n"
         "[listen]\naddress = \"127.0.0.1\"\nport = 0\n[discovery]\nenabled = false\n" +
         extra;
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ca = identity::make_ca({.name = "api test CA"});
    ASSERT_TRUE(ca);
    pki_ = new Pki{fs::temp_directory_path() / ("qc-api-test-" + std::to_string(::getpid())), *ca};
    fs::create_directories(pki_->dir);
    auto r = Node::start_from_toml(node_toml(*pki_, "r", ""), (pki_->dir / "r").string());
    ASSERT_TRUE(r) << r.error().message;
    r_ = r->release();
    std::string to_r = "[peers]\nstatic = [\"127.0.0.1:" + std::to_string(r_->port()) + "\"]\n";
    auto a = Node::start_from_toml(node_toml(*pki_, "a", to_r), (pki_->dir / "a").string());
    ASSERT_TRUE(a) << a.error().message;
    a_ = a->release();
    auto b = Node::start_from_toml(node_toml(*pki_, "b", to_r), (pki_->dir / "b").string());
    ASSERT_TRUE(b) << b.error().message;
    b_ = b->release();
    // Wait for the mesh: until a stream A -> B opens (the sessions to R come up first; until
    // then the routing core answers unreachable at once).
    auto l = b_->listen(1);
    ASSERT_TRUE(l);
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      auto s = a_->dial(b_->id(), 1, std::chrono::seconds(5));
      up = s.has_value();
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(up) << "A never reached B through R";
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
    delete r_;
    std::error_code ec;
    fs::remove_all(pki_->dir, ec);
    delete pki_;
  }

  static Pki* pki_;
  static Node* a_;
  static Node* r_;
  static Node* b_;
};

Pki* ApiTest::pki_ = nullptr;
Node* ApiTest::a_ = nullptr;
Node* ApiTest::r_ = nullptr;
Node* ApiTest::b_ = nullptr;

Bytes pattern(std::size_t n, std::uint32_t seed) {
  Bytes b(n);
  std::mt19937 rng(seed);
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return b;
}

TEST_F(ApiTest, StreamThroughRelayArrivesIntactBothWays) {
  auto listener = b_->listen(7);
  ASSERT_TRUE(listener) << listener.error().message;
  const Bytes data = pattern(48u << 20, 7);
  std::thread server([&] {
    auto s = (*listener)->accept(std::chrono::seconds(60));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ((*s)->peer(), a_->id());
    Bytes got(data.size() + 1);
    auto n = (*s)->read_all(got);
    ASSERT_TRUE(n) << n.error().message;
    got.resize(*n);
    auto digest = identity::sha256(got);
    ASSERT_TRUE((*s)->write(ByteView(digest.data(), digest.size())));
    ASSERT_TRUE((*s)->finish());
    std::uint8_t rest[1];
    auto end = (*s)->read(rest);
    EXPECT_TRUE(end && *end == 0);
  });
  auto s = a_->dial(b_->id() + ".fuse", 7, std::chrono::seconds(30));
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE((*s)->write(data));
  ASSERT_TRUE((*s)->finish());
  std::array<std::uint8_t, 32> digest{};
  auto n = (*s)->read_all(digest);
  ASSERT_TRUE(n) << n.error().message;
  ASSERT_EQ(*n, 32u);
  EXPECT_EQ(digest, identity::sha256(data));
  EXPECT_TRUE((*s)->wait_closed(std::chrono::seconds(30)));
  server.join();
}

// The answer, data and FIN can arrive in one packet with the open response: the dialler must
// see exactly the data, then the end.
TEST_F(ApiTest, ServiceThatAnswersAndFinishesAtOnce) {
  auto listener = b_->listen(12);
  ASSERT_TRUE(listener);
  for (int round = 0; round < 20; ++round) {
    std::thread server([&] {
      auto s = (*listener)->accept(std::chrono::seconds(30));
      ASSERT_TRUE(s) << s.error().message;
      ASSERT_TRUE((*s)->write(as_bytes("bye")));
      ASSERT_TRUE((*s)->finish());
      std::uint8_t b[16];
      auto n = (*s)->read(b);
      EXPECT_TRUE(n && *n == 0);
    });
    auto s = a_->dial(b_->id(), 12, std::chrono::seconds(30));
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE((*s)->finish());
    std::array<std::uint8_t, 16> got{};
    auto n = (*s)->read_all(got);
    ASSERT_TRUE(n) << n.error().message;
    EXPECT_EQ(std::string(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(*n)), "bye");
    server.join();
  }
}

TEST_F(ApiTest, PortWithoutListenerIsRefused) {
  auto s = a_->dial(b_->id(), 9, std::chrono::seconds(30));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kLimit) << s.error().message;
}

TEST_F(ApiTest, ListeningTwiceOnAPortIsAnError) {
  auto l = b_->listen(11);
  ASSERT_TRUE(l);
  auto again = b_->listen(11);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::kInvalidArgument);
}

TEST_F(ApiTest, UnknownPeerIsUnreachableBeforeTheTimeout) {
  auto ca = identity::make_ca({.name = "elsewhere"});
  ASSERT_TRUE(ca);
  auto stranger = identity::issue_node_cert(*ca, {.name = "stranger"});
  ASSERT_TRUE(stranger);
  auto s = a_->dial(identity::text_id(identity::partial_of(stranger->node_id)), 7,
                    std::chrono::seconds(60));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Errc::kUnreachable) << s.error().message;
}

TEST_F(ApiTest, ReaderThatStopsHoldsTheWriterBack) {
  auto listener = b_->listen(8);
  ASSERT_TRUE(listener);
  const Bytes data = pattern(96u << 20, 8);
  std::atomic<std::size_t> written{0};
  std::atomic<bool> write_ok{false};
  auto s = a_->dial(b_->id(), 8, std::chrono::seconds(30));
  ASSERT_TRUE(s) << s.error().message;
  std::thread writer([&] {
    const std::size_t chunk = 256u << 10;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
      if (!(*s)->write(ByteView(data).subspan(off, std::min(chunk, data.size() - off)))) return;
      written = off + std::min(chunk, data.size() - off);
    }
    write_ok = (*s)->finish().has_value();
  });
  auto in = (*listener)->accept(std::chrono::seconds(30));
  ASSERT_TRUE(in) << in.error().message;
  // Nobody reads on B: the writer must stall once the windows and buffers are full.
  std::size_t last = 0;
  for (int stable = 0; stable < 10;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::size_t now = written;
    stable = now == last ? stable + 1 : 0;
    last = now;
  }
  EXPECT_LT(last, data.size() / 2) << "the writer was not held back";
  // Now read everything: it all arrives, in order.
  Bytes got(data.size() + 1);
  auto n = (*in)->read_all(got);
  ASSERT_TRUE(n) << n.error().message;
  got.resize(*n);
  writer.join();
  EXPECT_TRUE(write_ok);
  EXPECT_TRUE(got == data);
}

TEST_F(ApiTest, DatagramsArriveAndOversizedOnesAreRefused) {
  // Shared with the callback, which runs on B's thread and may outlive this test's frame.
  struct Seen {
    std::mutex m;
    std::vector<std::string> items;
  };
  auto seen = std::make_shared<Seen>();
  b_->on_datagram([seen](const std::string& peer, ByteView d) {
    std::lock_guard lock(seen->m);
    seen->items.push_back(peer + ":" + std::string(d.begin(), d.end()));
  });
  bool arrived = false;
  for (int i = 0; i < 50 && !arrived; ++i) {  // unreliable: send until one arrives
    auto r = a_->send_datagram(b_->id(), as_bytes("hello"));
    ASSERT_TRUE(r) << r.error().message;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(seen->m);
    arrived = !seen->items.empty();
  }
  ASSERT_TRUE(arrived);
  {
    std::lock_guard lock(seen->m);
    EXPECT_EQ(seen->items.front(), a_->id() + ":hello");
  }
  std::size_t room = a_->max_datagram(b_->id());
  EXPECT_GT(room, 1000u);
  EXPECT_LT(room, 1500u);
  auto big = a_->send_datagram(b_->id(), Bytes(room + 1, 0x55));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::kTooLarge) << big.error().message;
  EXPECT_TRUE(a_->send_datagram(b_->id(), Bytes(room, 0x55)));
  b_->on_datagram(nullptr);
}

TEST(ApiStart, BadConfigIsAClearError) {
  auto n = Node::start_from_toml("[identity]\nca = \"missing.crt\"\n", "/nonexistent");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("cert"), std::string::npos) << n.error().message;
  auto typo = Node::start_from_toml("lisen = 3\n", "/tmp");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("lisen"), std::string::npos) << typo.error().message;
}

}  // namespace
}  // namespace qc
