// The target side (ExposePolicy, LocalConnector) and the SOCKS side's MeshDialer, end to end:
// SOCKS client -> Socks5Server -> MeshDialer -> in-memory "channel stream" -> LocalConnector ->
// local TCP service.
#include <gtest/gtest.h>

#include "front/expose_policy.h"
#include "front/local_connector.h"
#include "front/mesh_dialer.h"
#include "front/socks5_server.h"
#include "front/stream_header.h"
#include "front/tcp_dialer.h"
#include "front/test_support.h"

namespace qc::front {
namespace {

using testing::Client;
using testing::IoThread;

TEST(StreamHeader, RoundTripAndErrors) {
  auto r = decode_open_request(encode_open_request(8080));
  ASSERT_TRUE(r);
  ASSERT_TRUE(*r);
  EXPECT_EQ(**r, 8080);
  EXPECT_EQ(encode_open_request(0x1234), (Bytes{0x01, 0x12, 0x34}));
  EXPECT_FALSE(*decode_open_request(Bytes{0x01, 0x12}));  // more needed
  EXPECT_FALSE(*decode_open_request(Bytes{}));
  EXPECT_FALSE(decode_open_request(Bytes{0x02}));  // unknown version
  auto s = decode_open_response(encode_open_response(socks5::ReplyCode::kNotAllowed));
  ASSERT_TRUE(s && *s);
  EXPECT_EQ(**s, socks5::ReplyCode::kNotAllowed);
  EXPECT_FALSE(decode_open_response(Bytes{0x01, 0x09}));
  EXPECT_FALSE(decode_open_response(Bytes{0x00, 0x00}));
  for (auto code : {socks5::ReplyCode::kNotAllowed, socks5::ReplyCode::kConnectionRefused,
                    socks5::ReplyCode::kTtlExpired, socks5::ReplyCode::kHostUnreachable,
                    socks5::ReplyCode::kGeneralFailure}) {
    EXPECT_EQ(reply_for_dial_error(open_status_error(code)), code);
  }
}

TEST(ExposePolicy, Parses) {
  auto p = ExposePolicy::parse({"8080", "2222=22", "443=10.0.0.5:8443", "53=[::1]:5353"});
  ASSERT_TRUE(p) << p.error().to_string();
  ASSERT_EQ(p->rules.size(), 4u);
  EXPECT_EQ(p->find(8080)->host, "127.0.0.1");
  EXPECT_EQ(p->find(8080)->target_port, 8080);
  EXPECT_EQ(p->find(2222)->target_port, 22);
  EXPECT_EQ(p->find(443)->host, "10.0.0.5");
  EXPECT_EQ(p->find(443)->target_port, 8443);
  EXPECT_EQ(p->find(53)->host, "::1");
  EXPECT_EQ(p->find(80), nullptr);
  for (const char* bad :
       {"", "0", "65536", "x", "80=", "80=:1", "80=::1:5", "80=h:0", "1 ", "-5"}) {
    EXPECT_FALSE(ExposePolicy::parse({bad})) << bad;
  }
  EXPECT_FALSE(ExposePolicy::parse({"80", "80=81"}));
}

// The "Node" of the test: opening a stream to a peer makes a pipe whose far end goes to the
// target's LocalConnector; a peer whose first id byte is 0xee is unreachable.
class PipeOpener final : public StreamOpener {
 public:
  PipeOpener(asio::io_context& io, LocalConnector& target) : io_(io), target_(target) {}
  void open(const identity::NodeIdPrefix& peer, Callback callback) override {
    ++opened;
    if (peer.bytes[0] == 0xee) {
      asio::post(io_, [callback] { callback(Err(Errc::kUnreachable, "dead end")); });
      return;
    }
    auto pipe = make_memory_pipe(io_, 64 * 1024);
    target_.accept(std::move(pipe.b));
    auto a = std::make_shared<std::unique_ptr<ByteStream>>(std::move(pipe.a));
    asio::post(io_, [callback, a] { callback(std::move(*a)); });
  }
  std::size_t opened = 0;

 private:
  asio::io_context& io_;
  LocalConnector& target_;
};

std::string host_of(std::uint8_t first) {
  identity::NodeId id{};
  id[0] = first;
  id[5] = 0x33;
  return identity::hostname(identity::partial_of(id));
}

int socks_connect(Client& c, const std::string& host, std::uint16_t port) {
  socks5::Address a;
  a.type = socks5::AddressType::kDomain;
  a.domain = host;
  a.port = port;
  Bytes in = socks5::encode_greeting({socks5::Method::kNoAuth});
  Bytes req = socks5::encode_request(socks5::Command::kConnect, a).value();
  in.insert(in.end(), req.begin(), req.end());
  if (!c.send(in)) return -1;
  Bytes r = c.recv_exact(12);
  return r.size() == 12 ? r[3] : -1;
}

class ExposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io_.call([&] {
      echo_ = std::make_unique<testing::Backend>(io_.io, testing::serve_echo);
      http_ = std::make_unique<testing::Backend>(io_.io, testing::serve_http);
      // A port with nothing listening: bind, note it, close.
      asio::ip::tcp::acceptor probe(io_.io,
                                    asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
      std::uint16_t closed_port = probe.local_endpoint().port();
      probe.close();
      auto policy = ExposePolicy::parse({"7=" + std::to_string(echo_->port()),
                                         "80=127.0.0.1:" + std::to_string(http_->port()),
                                         "9=" + std::to_string(closed_port)});
      EXPECT_TRUE(policy);
      connector_ = std::make_unique<LocalConnector>(io_.io, *policy);
      opener_ = std::make_unique<PipeOpener>(io_.io, *connector_);
      dialer_ = std::make_unique<MeshDialer>(io_.io, *opener_);
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
      opener_.reset();
      connector_.reset();
      echo_.reset();
      http_.reset();
      return 0;
    });
  }

  IoThread io_;
  std::unique_ptr<testing::Backend> echo_, http_;
  std::unique_ptr<LocalConnector> connector_;
  std::unique_ptr<PipeOpener> opener_;
  std::unique_ptr<MeshDialer> dialer_;
  std::unique_ptr<Socks5Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(ExposeTest, ExposedPortIsSpliced) {
  Client c(port_);
  ASSERT_EQ(socks_connect(c, host_of(0x42), 7), 0x00);
  ASSERT_TRUE(c.send("through the target node"));
  EXPECT_EQ(as_chars(c.recv_exact(23)), "through the target node");
  c.shutdown_write();
  EXPECT_TRUE(c.recv_all().empty());  // the echo service's FIN came back
  EXPECT_TRUE(io_.wait_until([&] { return connector_->active() == 0; }));
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(ExposeTest, EarlyDataCrossesTheHeaders) {
  Client c(port_);
  socks5::Address a;
  a.type = socks5::AddressType::kDomain;
  a.domain = host_of(0x42);
  a.port = 7;
  Bytes in = socks5::encode_greeting({socks5::Method::kNoAuth});
  Bytes req = socks5::encode_request(socks5::Command::kConnect, a).value();
  in.insert(in.end(), req.begin(), req.end());
  in.insert(in.end(), {'p', 'i', 'p', 'e', 'd'});
  ASSERT_TRUE(c.send(in));
  Bytes r = c.recv_exact(12);
  ASSERT_EQ(r.size(), 12u);
  EXPECT_EQ(r[3], 0x00);
  EXPECT_EQ(as_chars(c.recv_exact(5)), "piped");
}

TEST_F(ExposeTest, NotExposedPortIsRefusedByRuleset) {
  Client c(port_);
  EXPECT_EQ(socks_connect(c, host_of(0x42), 22), 0x02);
  EXPECT_TRUE(c.recv_all().empty());
  EXPECT_EQ(io_.call([&] { return connector_->refused(); }), 1u);
  EXPECT_TRUE(io_.wait_until([&] { return connector_->active() == 0; }));
}

TEST_F(ExposeTest, LocalServiceDownIsConnectionRefused) {
  Client c(port_);
  EXPECT_EQ(socks_connect(c, host_of(0x42), 9), 0x05);
  EXPECT_TRUE(io_.wait_until([&] { return connector_->active() == 0; }));
}

TEST_F(ExposeTest, UnreachablePeerIsHostUnreachable) {
  Client c(port_);
  EXPECT_EQ(socks_connect(c, host_of(0xee), 7), 0x04);
  EXPECT_EQ(io_.call([&] { return opener_->opened; }), 1u);
}

TEST_F(ExposeTest, OutsideWithoutDirectIsRefused) {
  Client c(port_);
  EXPECT_EQ(socks_connect(c, "example.com", 80), 0x02);
  EXPECT_EQ(io_.call([&] { return opener_->opened; }), 0u);
}

TEST_F(ExposeTest, BadHeaderFromAPeerIsReset) {
  // A peer that opens a stream and sends garbage instead of the open request.
  struct Far : ByteStream::Handler {
    std::unique_ptr<ByteStream> s;
    bool closed = false, ok = false;
    std::size_t on_data(ByteView d) override { return d.size(); }
    void on_fin() override {}
    void on_writable() override {}
    void on_closed(Result<void> r) override {
      closed = true;
      ok = r.has_value();
    }
  };
  auto far = std::make_shared<Far>();
  io_.call([&] {
    auto pipe = make_memory_pipe(io_.io, 1024);
    connector_->accept(std::move(pipe.b));
    far->s = std::move(pipe.a);
    far->s->set_handler(far.get());
    (void)far->s->write(Bytes{0x47, 0x45, 0x54});
    return 0;
  });
  EXPECT_TRUE(io_.wait_until([&] { return far->closed; }));
  EXPECT_FALSE(io_.call([&] { return far->ok; }));
  EXPECT_TRUE(io_.wait_until([&] { return connector_->active() == 0; }));
  io_.call([&] {
    far->s.reset();
    return 0;
  });
}

TEST_F(ExposeTest, CurlThroughTheTargetNode) {
  if (std::system("curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  std::string out = ::testing::TempDir() + "qc-expose-body-" + std::to_string(::getpid());
  constexpr std::size_t kSize = 3 * 1024 * 1024 + 5;
  std::string cmd =
      "curl -sS --fail --max-time 120 --socks5-hostname 127.0.0.1:" + std::to_string(port_) +
      " -o " + out + " http://" + host_of(0x42) + ":80/bytes/" + std::to_string(kSize);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  FILE* f = std::fopen(out.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  Bytes got(kSize + 1);
  std::size_t n = std::fread(got.data(), 1, got.size(), f);
  std::fclose(f);
  std::remove(out.c_str());
  ASSERT_EQ(n, kSize);
  for (std::size_t i = 0; i < kSize; ++i) ASSERT_EQ(got[i], testing::body_byte(i)) << i;
  // curl on a non-exposed port fails with the proxy's refusal.
  std::string refused =
      "curl -sS --max-time 60 --socks5-hostname 127.0.0.1:" + std::to_string(port_) +
      " -o /dev/null http://" + host_of(0x42) + ":8081/ 2>/dev/null";
  EXPECT_NE(std::system(refused.c_str()), 0);
}

// A node that lets traffic out: outside destinations go through TcpDialer, mesh ones still
// through the mesh.
TEST_F(ExposeTest, OutsideWithDirectGoesOutOverTcp) {
  std::unique_ptr<TcpDialer> direct;
  std::unique_ptr<MeshDialer> dialer;
  std::unique_ptr<Socks5Server> server;
  std::uint16_t port = io_.call([&] {
    direct = std::make_unique<TcpDialer>(io_.io);
    dialer = std::make_unique<MeshDialer>(io_.io, *opener_, direct.get());
    Socks5ServerOptions o;
    o.port = 0;
    o.destinations.allow_direct = true;
    server = std::move(*Socks5Server::start(io_.io, o, *dialer));
    return server->local_endpoint().port();
  });
  std::uint16_t echo_port = io_.call([&] { return echo_->port(); });
  {
    Client c(port);
    EXPECT_EQ(socks_connect(c, "127.0.0.1", echo_port), 0x00);  // a domain that is a literal
    ASSERT_TRUE(c.send("direct"));
    EXPECT_EQ(as_chars(c.recv_exact(6)), "direct");
  }
  {
    Client c(port);
    EXPECT_EQ(socks_connect(c, "localhost", echo_port), 0x00);
  }
  {
    // Nothing listens there: connection refused.
    std::uint16_t closed_port = io_.call([&] {
      asio::ip::tcp::acceptor a(io_.io,
                                asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0));
      return a.local_endpoint().port();
    });
    Client c(port);
    EXPECT_EQ(socks_connect(c, "127.0.0.1", closed_port), 0x05);
  }
  {
    Client c(port);
    EXPECT_EQ(socks_connect(c, host_of(0x42), 7), 0x00);  // the mesh is still the mesh
  }
  EXPECT_EQ(io_.call([&] { return opener_->opened; }), 1u);
  io_.call([&] {
    server.reset();
    dialer.reset();
    direct.reset();
    return 0;
  });
}

}  // namespace
}  // namespace qc::front
