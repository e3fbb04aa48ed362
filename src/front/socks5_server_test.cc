// Socks5Server over loopback TCP with a ScriptedDialer (in-memory pipes to in-process backends).
#include "front/socks5_server.h"

#include <gtest/gtest.h>

#include "front/test_support.h"
#include "identity/identity.h"

namespace qc::front {
namespace {

using testing::Client;
using testing::IoThread;

constexpr std::uint16_t kEchoPort = 7;

std::string peer_host() {
  identity::NodeId id{};
  id[0] = 0x42;
  return identity::hostname(identity::partial_of(id));
}

socks5::Address domain(std::string name, std::uint16_t port) {
  socks5::Address a;
  a.type = socks5::AddressType::kDomain;
  a.domain = std::move(name);
  a.port = port;
  return a;
}

// Runs the no-auth handshake for `dest`; returns the reply code, or -1 if the server closed.
int socks_connect(Client& c, const socks5::Address& dest) {
  Bytes in = socks5::encode_greeting({socks5::Method::kNoAuth});
  Bytes req = socks5::encode_request(socks5::Command::kConnect, dest).value();
  in.insert(in.end(), req.begin(), req.end());
  if (!c.send(in)) return -1;
  Bytes method = c.recv_exact(2);
  if (method != Bytes{0x05, 0x00}) return -1;
  Bytes reply = c.recv_exact(10);  // IPv4 bound address in every reply of this server
  if (reply.size() != 10 || reply[0] != 0x05) return -1;
  return reply[1];
}

class Socks5ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    echo_ = std::make_unique<testing::Backend>(io_.io, testing::serve_echo);
    dialer_ = std::make_unique<testing::ScriptedDialer>(io_.io);
    dialer_->ports[kEchoPort] = echo_->port();
  }
  void TearDown() override {
    io_.call([&] {
      server_.reset();
      echo_.reset();
      dialer_.reset();
      return 0;
    });
  }
  void start(Socks5ServerOptions options = {}) {
    options.port = 0;
    io_.call([&] {
      auto s = Socks5Server::start(io_.io, options, *dialer_);
      EXPECT_TRUE(s) << s.error().to_string();
      server_ = std::move(*s);
      return 0;
    });
    port_ = io_.call([&] { return server_->local_endpoint().port(); });
  }
  std::size_t connections() {
    return io_.call([&] { return server_->connection_count(); });
  }

  IoThread io_;
  std::unique_ptr<testing::Backend> echo_;
  std::unique_ptr<testing::ScriptedDialer> dialer_;
  std::unique_ptr<Socks5Server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(Socks5ServerTest, ConnectsAndEchoes) {
  start();
  Client c(port_);
  ASSERT_EQ(socks_connect(c, domain(peer_host(), kEchoPort)), 0x00);
  ASSERT_TRUE(c.send("hello through the proxy"));
  EXPECT_EQ(as_chars(c.recv_exact(23)), "hello through the proxy");
  auto seen = io_.call([&] { return dialer_->seen.front(); });
  EXPECT_EQ(seen.kind, Destination::Kind::kMesh);
  EXPECT_EQ(seen.port(), kEchoPort);
}

TEST_F(Socks5ServerTest, EarlyDataAfterRequestIsForwarded) {
  start();
  Client c(port_);
  Bytes in = socks5::encode_greeting({socks5::Method::kNoAuth});
  Bytes req =
      socks5::encode_request(socks5::Command::kConnect, domain(peer_host(), kEchoPort)).value();
  in.insert(in.end(), req.begin(), req.end());
  in.insert(in.end(), {'e', 'a', 'r', 'l', 'y'});
  ASSERT_TRUE(c.send(in));
  EXPECT_EQ(c.recv_exact(12).size(), 12u);
  EXPECT_EQ(as_chars(c.recv_exact(5)), "early");
}

TEST_F(Socks5ServerTest, UsernamePassword) {
  Socks5ServerOptions o;
  o.auth.credentials = socks5::AuthConfig::Credentials{"user", "pass"};
  start(o);
  {
    Client c(port_);
    Bytes in = socks5::encode_greeting({socks5::Method::kUserPass});
    Bytes auth = socks5::encode_auth("user", "pass");
    Bytes req =
        socks5::encode_request(socks5::Command::kConnect, domain(peer_host(), kEchoPort)).value();
    for (const Bytes* b : {&auth, &req}) in.insert(in.end(), b->begin(), b->end());
    ASSERT_TRUE(c.send(in));
    EXPECT_EQ(c.recv_exact(4), (Bytes{0x05, 0x02, 0x01, 0x00}));
    EXPECT_EQ(c.recv_exact(10)[1], 0x00);
  }
  {
    Client c(port_);
    Bytes in = socks5::encode_greeting({socks5::Method::kUserPass});
    Bytes auth = socks5::encode_auth("user", "wrong");
    in.insert(in.end(), auth.begin(), auth.end());
    ASSERT_TRUE(c.send(in));
    EXPECT_EQ(c.recv_all(), (Bytes{0x05, 0x02, 0x01, 0x01}));
  }
  {
    Client c(port_);
    ASSERT_TRUE(c.send(socks5::encode_greeting({socks5::Method::kNoAuth})));
    EXPECT_EQ(c.recv_all(), (Bytes{0x05, 0xff}));
  }
}

TEST_F(Socks5ServerTest, RefusalsCarryTheRightReplyCode) {
  dialer_->errors[1] = Error{Errc::kUnreachable, "no route"};
  dialer_->errors[2] = Error{Errc::kLimit, "port not exposed"};
  dialer_->errors[3] = Error{Errc::kIo, "connection refused"};
  dialer_->errors[4] = Error{Errc::kInternal, "bug"};
  dialer_->never_answer_port = 5;
  Socks5ServerOptions o;
  o.dial_timeout = std::chrono::milliseconds(100);
  start(o);
  struct Case {
    socks5::Address dest;
    int reply;
  };
  socks5::Address v4;
  v4.ipv4 = {192, 0, 2, 1};
  v4.port = 80;
  for (const Case& k : {Case{domain(peer_host(), 1), 0x04}, Case{domain(peer_host(), 2), 0x02},
                        Case{domain(peer_host(), 3), 0x05}, Case{domain(peer_host(), 4), 0x01},
                        Case{domain(peer_host(), 5), 0x06}, Case{domain("example.com", 80), 0x02},
                        Case{v4, 0x02}, Case{domain("zzzz.fuse", 80), 0x04}}) {
    Client c(port_);
    EXPECT_EQ(socks_connect(c, k.dest), k.reply) << k.dest.to_string();
    EXPECT_TRUE(c.recv_all().empty());  // then the server closes
  }
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(Socks5ServerTest, SilentClientIsClosedAfterTheHandshakeTimeout) {
  Socks5ServerOptions o;
  o.handshake_timeout = std::chrono::milliseconds(50);
  start(o);
  Client silent(port_);
  Client half(port_);
  ASSERT_TRUE(half.send(Bytes{0x05, 0x01}));  // a greeting missing its method byte
  bool error = false;
  EXPECT_TRUE(silent.recv_all(&error).empty());
  EXPECT_FALSE(error);  // an orderly close, not a receive timeout
  EXPECT_TRUE(half.recv_all().empty());
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(Socks5ServerTest, ClientHalfCloseReachesTheBackendAndBack) {
  start();
  Client c(port_);
  ASSERT_EQ(socks_connect(c, domain(peer_host(), kEchoPort)), 0x00);
  ASSERT_TRUE(c.send("last words"));
  c.shutdown_write();
  // The echo backend answers, sees our FIN, sends its own: we read the data, then EOF.
  bool error = false;
  EXPECT_EQ(as_chars(c.recv_all(&error)), "last words");
  EXPECT_FALSE(error);
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
  EXPECT_TRUE(io_.wait_until([&] { return dialer_->live_splices() == 0; }));
}

// A handler on the far end of a pipe (the "remote service" side), recording what happens.
struct FarEnd : ByteStream::Handler {
  std::unique_ptr<ByteStream> stream;
  Bytes received;
  bool fin = false;
  bool closed = false;
  bool closed_ok = false;
  std::size_t on_data(ByteView d) override {
    received.insert(received.end(), d.begin(), d.end());
    return d.size();
  }
  void on_fin() override { fin = true; }
  void on_writable() override {}
  void on_closed(Result<void> r) override {
    closed = true;
    closed_ok = r.has_value();
  }
};

TEST_F(Socks5ServerTest, RemoteHalfCloseThenClientKeepsSending) {
  auto far = std::make_shared<FarEnd>();
  dialer_->pipes[9] = [far](std::unique_ptr<ByteStream> s) {
    far->stream = std::move(s);
    far->stream->set_handler(far.get());
    EXPECT_EQ(far->stream->write(as_bytes("banner")), 6u);
    far->stream->shutdown_write();
  };
  start();
  Client c(port_);
  ASSERT_EQ(socks_connect(c, domain(peer_host(), 9)), 0x00);
  EXPECT_EQ(as_chars(c.recv_all()), "banner");  // data, then the remote's FIN
  ASSERT_TRUE(c.send("still talking"));         // our direction stays open
  EXPECT_TRUE(io_.wait_until([&] { return far->received.size() == 13; }));
  c.shutdown_write();
  EXPECT_TRUE(io_.wait_until([&] { return far->closed; }));
  EXPECT_TRUE(io_.call([&] { return far->fin && far->closed_ok; }));
  EXPECT_EQ(as_chars(io_.call([&] { return far->received; })), "still talking");
  io_.call([&] {
    far->stream.reset();
    return 0;
  });
}

TEST_F(Socks5ServerTest, ResetPropagatesBothWays) {
  auto far = std::make_shared<FarEnd>();
  dialer_->pipes[9] = [far](std::unique_ptr<ByteStream> s) {
    far->stream = std::move(s);
    far->stream->set_handler(far.get());
  };
  start();
  {
    // Client resets -> the remote stream sees an error close.
    Client c(port_);
    ASSERT_EQ(socks_connect(c, domain(peer_host(), 9)), 0x00);
    ASSERT_TRUE(c.send("x"));
    EXPECT_TRUE(io_.wait_until([&] { return far->received.size() == 1; }));
    c.reset();
    EXPECT_TRUE(io_.wait_until([&] { return far->closed; }));
    EXPECT_FALSE(io_.call([&] { return far->closed_ok; }));
  }
  {
    // Remote resets -> the client sees ECONNRESET, not a clean EOF.
    *far = FarEnd{};
    Client c(port_);
    ASSERT_EQ(socks_connect(c, domain(peer_host(), 9)), 0x00);
    io_.call([&] {
      far->stream->reset();
      return 0;
    });
    bool error = false;
    c.recv_all(&error);
    EXPECT_TRUE(error);
  }
  EXPECT_TRUE(io_.wait_until([&] { return server_->connection_count() == 0; }));
  io_.call([&] {
    far->stream.reset();
    return 0;
  });
}

// Produces `total` bytes into its stream as fast as the stream takes them, and records the
// largest server-side buffer seen at every step.
struct Producer : ByteStream::Handler {
  std::unique_ptr<ByteStream> stream;
  std::size_t total = 0;
  std::size_t sent = 0;
  std::size_t blocked = 0;  // short writes
  std::function<void()> sample;
  std::size_t on_data(ByteView d) override { return d.size(); }
  void on_fin() override {}
  void on_writable() override { pump(); }
  void on_closed(Result<void>) override {}
  void pump() {
    Bytes chunk(8192);
    while (sent < total) {
      std::size_t n = std::min(chunk.size(), total - sent);
      for (std::size_t i = 0; i < n; ++i) chunk[i] = testing::body_byte(sent + i);
      std::size_t took = stream->write(ByteView(chunk.data(), n));
      sent += took;
      if (sample) sample();
      if (took < n) {
        ++blocked;
        return;
      }
    }
    stream->shutdown_write();
  }
};

TEST_F(Socks5ServerTest, SlowReaderBoundsServerBuffers) {
  constexpr std::size_t kTotal = 64 * 1024 * 1024;
  auto producer = std::make_shared<Producer>();
  std::size_t max_buffered = 0;
  producer->total = kTotal;
  producer->sample = [&] {
    if (server_) max_buffered = std::max(max_buffered, server_->buffered_bytes());
  };
  dialer_->pipes[9] = [producer](std::unique_ptr<ByteStream> s) {
    producer->stream = std::move(s);
    producer->stream->set_handler(producer.get());
    producer->pump();
  };
  Socks5ServerOptions o;
  start(o);
  Client c(port_);
  ASSERT_EQ(socks_connect(c, domain(peer_host(), 9)), 0x00);
  // The client reads nothing: the producer must get stuck (kernel socket buffers, the server's
  // bounded stream, the pipe) long before 64 MiB, with the server holding no more than its bound.
  ASSERT_TRUE(io_.wait_until([&] { return producer->blocked > 0; }));
  std::size_t stuck_at = 0;
  for (int i = 0; i < 100; ++i) {  // until the amount sent stops growing (kernel buffers full)
    std::size_t now = io_.call([&] { return producer->sent; });
    if (now == stuck_at) break;
    stuck_at = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LT(stuck_at, kTotal / 2);
  RecordProperty("stuck_at", static_cast<int>(stuck_at));
  RecordProperty("max_buffered", static_cast<int>(io_.call([&] { return max_buffered; })));
  std::size_t bound = o.client_stream.write_limit + o.client_stream.read_chunk;
  EXPECT_LE(io_.call([&] { return max_buffered; }), bound);
  // Now read everything: every byte arrives, in order.
  Bytes all = c.recv_all();
  ASSERT_EQ(all.size(), kTotal);
  for (std::size_t i = 0; i < all.size(); i += 4093) ASSERT_EQ(all[i], testing::body_byte(i));
  EXPECT_LE(io_.call([&] { return max_buffered; }), bound);
  io_.call([&] {
    producer->stream.reset();
    return 0;
  });
}

}  // namespace
}  // namespace qc::front
