// Loopback integration tests: several SessionManagers (and raw QUIC peers) in one process on
// 127.0.0.1, driven by a real io_context with bounded deadlines.
#include "link/session_manager.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <chrono>
#include <functional>
#include <memory>

#include "common/log.h"
#include "transport/test_pki.h"

namespace qc::link {
namespace {

using transport::Address;
using namespace std::chrono_literals;

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

struct CapturedLog {
  explicit CapturedLog(const std::string& component)
      : logger(log::get(component)),
        sink(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512)) {
    logger->sinks().push_back(sink);
  }
  ~CapturedLog() {
    auto& s = logger->sinks();
    s.erase(std::remove(s.begin(), s.end(), sink), s.end());
  }
  bool contains(const std::string& text) const {
    for (const auto& line : sink->last_formatted()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink;
};

// A node: an Identity and a SessionManager recording what happens.
struct Node {
  Node(asio::io_context& io, const transport::testing::TestNode& t, std::uint16_t port = 0,
       std::string ip = "127.0.0.1")
      : io_(io),
        id(*identity::Identity::from_pem(t.creds.ca_pem, t.creds.chain_pem, t.creds.key_pem)),
        ip_(std::move(ip)) {
    start(port);
  }
  void start(std::uint16_t port) {
    SessionManagerOptions o;
    o.listen = *Address::parse(ip_, port);
    o.interface_id = 7;
    o.idle_timeout = 5 * kSecond;
    o.keep_alive = 1 * kSecond;
    o.ping_interval = 500 * kMillisecond;
    o.redial_initial = 100 * kMillisecond;
    o.redial_max = 1 * kSecond;
    o.handshake_timeout = 3 * kSecond;
    o.hello_timeout = 1 * kSecond;
    SessionCallbacks cb;
    cb.on_up = [this](Session&) { ++ups; };
    cb.on_down = [this](Session&, const transport::CloseInfo& i) {
      ++downs;
      last_down = i;
    };
    cb.on_control = [this](Session& s, const ControlMessage& m) {
      controls.push_back(m);
      if (echo && m.has_routing()) (void)s.send_control(m);
    };
    cb.on_datagram = [this](Session&, ByteView d) { datagrams.emplace_back(d.begin(), d.end()); };
    mgr = std::make_unique<SessionManager>(io_, id, o, cb);
    auto r = mgr->start();
    EXPECT_TRUE(r) << r.error().to_string();
  }
  void restart() {
    std::uint16_t port = mgr->local_address().port();
    mgr->shutdown();
    mgr.reset();
    start(port);
  }
  Address address() const { return mgr->local_address(); }
  Session* to(const Node& other) { return mgr->session_to(other.id.node_id()); }

  asio::io_context& io_;
  identity::Identity id;
  std::string ip_;
  std::unique_ptr<SessionManager> mgr;
  int ups = 0, downs = 0;
  std::optional<transport::CloseInfo> last_down;
  std::vector<ControlMessage> controls;
  std::vector<Bytes> datagrams;
  bool echo = false;
};

// A QUIC peer that speaks the link ALPN but writes whatever the test says on stream 0.
struct RawPeer : transport::ConnectionObserver {
  RawPeer(asio::io_context& io, const transport::TlsCredentials& creds)
      : endpoint(io, transport::EndpointOptions{}) {
    EXPECT_TRUE(endpoint.open(*Address::parse("127.0.0.1", 0)));
    tls = *transport::TlsContext::create(creds);
  }
  void dial(const Address& to) {
    transport::ConnectionSettings s;
    s.tls = tls;
    s.alpn = kAlpn;
    auto h = endpoint.dial(to, s, this);
    ASSERT_TRUE(h);
    handle = *h;
  }
  void send(const Bytes& data, bool fin) {
    transport::Connection* c = endpoint.connection(handle);
    ASSERT_NE(c, nullptr);
    if (stream < 0) stream = *c->open_bidi_stream();
    ASSERT_TRUE(c->write_stream(stream, data, fin));
    endpoint.wake(handle);
  }
  void on_handshake_confirmed(const transport::PeerInfo&) override { confirmed = true; }
  void on_stream_data(std::int64_t, ByteView d, bool) override { received += d.size(); }
  void on_closed(const transport::CloseInfo& info) override { closed = info; }

  transport::Endpoint endpoint;
  std::shared_ptr<const transport::TlsContext> tls;
  transport::Endpoint::Handle handle = 0;
  std::int64_t stream = -1;
  bool confirmed = false;
  std::size_t received = 0;
  std::optional<transport::CloseInfo> closed;
};

class LoopbackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new identity::CertAuthority(transport::testing::make_test_ca("loopback CA"));
    for (const char* n : {"a", "b", "c", "d"}) {
      nodes_.push_back(transport::testing::make_test_node(*ca_, n));
    }
  }
  static identity::CertAuthority* ca_;
  static std::vector<transport::testing::TestNode> nodes_;
  asio::io_context io_;
};
identity::CertAuthority* LoopbackTest::ca_ = nullptr;
std::vector<transport::testing::TestNode> LoopbackTest::nodes_;

ControlMessage routing_query(std::uint32_t id) {
  ControlMessage m;
  m.mutable_routing()->mutable_peer_query()->set_query_id(id);
  return m;
}

TEST_F(LoopbackTest, ConnectAndExchangeControlMessagesAndDatagrams) {
  Node a(io_, nodes_[0]), b(io_, nodes_[1]);
  b.echo = true;
  ASSERT_TRUE(a.mgr->dial(b.address(), b.id.node_id()));
  ASSERT_TRUE(run_until(io_, [&] { return a.to(b) && b.to(a); }));
  Session* s = a.to(b);
  EXPECT_TRUE(s->dialled());
  EXPECT_EQ(s->peer_text_id(), b.id.text_id());
  EXPECT_EQ(s->peer_hello().interface_id(), 7u);
  EXPECT_EQ(s->peer_hello().listen_port(), b.address().port());
  EXPECT_EQ(b.to(a)->peer_text_id(), a.id.text_id());
  for (std::uint32_t i = 1; i <= 20; ++i) ASSERT_TRUE(s->send_control(routing_query(i)));
  ASSERT_TRUE(run_until(io_, [&] { return a.controls.size() == 20; }));
  EXPECT_EQ(b.controls.size(), 20u);
  EXPECT_EQ(a.controls.back().routing().peer_query().query_id(), 20u);
  // DATAGRAMs both ways.
  EXPECT_GE(s->datagram_room(), 1150u);
  EXPECT_EQ(s->send_datagram(as_bytes("circuit packet")), transport::DatagramStatus::kAccepted);
  ASSERT_TRUE(run_until(io_, [&] { return b.datagrams.size() == 1; }));
  EXPECT_EQ(as_chars(b.datagrams[0]), "circuit packet");
  EXPECT_EQ(b.to(a)->send_datagram(as_bytes("back")), transport::DatagramStatus::kAccepted);
  ASSERT_TRUE(run_until(io_, [&] { return a.datagrams.size() == 1; }));
  // Ping/Pong measured an RTT.
  ASSERT_TRUE(run_until(
      io_, [&] { return s->last_ping_rtt() > 0; }, 3s));
  EXPECT_EQ(a.ups, 1);
  EXPECT_EQ(b.ups, 1);
  // A clean shutdown brings the session down on the other side with kShutdown.
  a.mgr->shutdown();
  ASSERT_TRUE(run_until(io_, [&] { return b.downs == 1; }));
  EXPECT_TRUE(b.last_down->application);
  EXPECT_EQ(b.last_down->error_code, static_cast<std::uint64_t>(CloseCode::kShutdown));
}

TEST_F(LoopbackTest, OtherCaRefusedAndLogged) {
  CapturedLog logs("transport");
  auto other_ca = transport::testing::make_test_ca("other CA");
  auto rogue_cert = transport::testing::make_test_node(other_ca, "rogue");
  Node b(io_, nodes_[1]);
  Node rogue(io_, rogue_cert);
  ASSERT_TRUE(rogue.mgr->dial(b.address()));
  ASSERT_TRUE(run_until(io_, [&] { return rogue.mgr->session_count() == 0; }));
  run_until(
      io_, [] { return false; }, 200ms);
  EXPECT_EQ(b.ups, 0);
  EXPECT_EQ(rogue.ups, 0);
  EXPECT_TRUE(logs.contains("refused peer")) << "the refusal must be logged";
  EXPECT_TRUE(logs.contains("issuer is unknown"));
}

TEST_F(LoopbackTest, ExpiredAndMismatchedKeyRefused) {
  CapturedLog logs("transport");
  Node b(io_, nodes_[1]);
  auto old = transport::testing::make_test_node(*ca_, "old", /*expired=*/true);
  RawPeer expired(io_, old.creds);
  expired.dial(b.address());
  auto liar_cert = transport::testing::with_wrong_key(nodes_[2], nodes_[3]);
  RawPeer liar(io_, liar_cert.creds);
  liar.dial(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return expired.closed && liar.closed; }));
  EXPECT_FALSE(expired.confirmed);
  EXPECT_FALSE(liar.confirmed);
  EXPECT_EQ(expired.closed->kind, transport::CloseInfo::Kind::kTlsRefused);
  EXPECT_EQ(liar.closed->kind, transport::CloseInfo::Kind::kTlsRefused);
  EXPECT_EQ(b.ups, 0);
  EXPECT_TRUE(logs.contains("expired"));
  EXPECT_TRUE(logs.contains("handshake with"));
}

TEST_F(LoopbackTest, RestartedPeerIsRedialled) {
  Node a(io_, nodes_[0]), b(io_, nodes_[1]);
  a.mgr->add_static_peer(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return a.to(b) && b.to(a); }));
  b.restart();
  ASSERT_TRUE(run_until(io_, [&] { return a.downs == 1; }));
  ASSERT_TRUE(run_until(
      io_, [&] { return a.to(b) && b.to(a); }, 5s))
      << "a should re-dial b within the backoff";
  EXPECT_EQ(a.ups, 2);
  // A crash (no CONNECTION_CLOSE): the restarted b answers a's next packet (a keep-alive
  // within 1 s) with a stateless reset, so a notices long before its idle timeout (5 s).
  std::uint16_t port = b.address().port();
  b.mgr->endpoint().abandon(b.to(a)->handle());
  b.mgr.reset();
  b.start(port);
  ASSERT_TRUE(run_until(
      io_, [&] { return a.downs == 2; }, 4500ms));
  EXPECT_GE(b.mgr->endpoint().counters().stateless_resets_sent, 1u);
  EXPECT_NE(a.last_down->reason.find("stateless reset"), std::string::npos)
      << a.last_down->to_string();
  ASSERT_TRUE(run_until(
      io_, [&] { return a.ups == 3 && b.to(a); }, 5s));
}

TEST_F(LoopbackTest, GarbageAndTruncatedFramesCloseOnlyThatSession) {
  CapturedLog logs("link");
  Node b(io_, nodes_[1]), c(io_, nodes_[2]);
  ASSERT_TRUE(c.mgr->dial(b.address()));
  ASSERT_TRUE(run_until(io_, [&] { return c.to(b) && b.to(c); }));

  RawPeer garbage(io_, nodes_[3].creds);
  garbage.dial(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return garbage.confirmed; }));
  garbage.send(Bytes{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}, false);
  ASSERT_TRUE(run_until(io_, [&] { return garbage.closed.has_value(); }));
  EXPECT_TRUE(garbage.closed->application);
  EXPECT_EQ(garbage.closed->error_code, static_cast<std::uint64_t>(CloseCode::kFrameTooLarge));
  EXPECT_NE(garbage.closed->reason.find("exceeds"), std::string::npos);

  RawPeer truncated(io_, nodes_[3].creds);
  truncated.dial(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return truncated.confirmed; }));
  ControlMessage hello;
  hello.mutable_hello()->set_version(kProtocolVersion);
  hello.mutable_hello()->set_node_text_id(identity::text_id(nodes_[3].node_id));
  Bytes stream = *encode_frame(hello);
  Bytes ping = *encode_frame(routing_query(1));
  stream.insert(stream.end(), ping.begin(), ping.end() - 2);  // cut the last frame short
  truncated.send(stream, true);
  ASSERT_TRUE(run_until(io_, [&] { return truncated.closed.has_value(); }));
  EXPECT_EQ(truncated.closed->error_code, static_cast<std::uint64_t>(CloseCode::kBadFrame));

  RawPeer bad_proto(io_, nodes_[3].creds);
  bad_proto.dial(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return bad_proto.confirmed; }));
  bad_proto.send(Bytes{0, 0, 0, 3, 0xff, 0xff, 0xff}, false);  // a frame that is not protobuf
  ASSERT_TRUE(run_until(io_, [&] { return bad_proto.closed.has_value(); }));
  EXPECT_EQ(bad_proto.closed->error_code, static_cast<std::uint64_t>(CloseCode::kBadFrame));

  // The good session is untouched and still carries messages.
  run_until(
      io_, [] { return false; }, 300ms);
  ASSERT_TRUE(c.to(b));
  EXPECT_EQ(c.downs, 0);
  ASSERT_TRUE(c.to(b)->send_control(routing_query(5)));
  ASSERT_TRUE(run_until(io_, [&] { return b.controls.size() == 1; }));
  EXPECT_TRUE(logs.contains("closing session"));
}

TEST_F(LoopbackTest, SilentPeerIsClosedAfterHelloTimeout) {
  Node b(io_, nodes_[1]);
  RawPeer silent(io_, nodes_[3].creds);
  silent.dial(b.address());
  ASSERT_TRUE(run_until(io_, [&] { return silent.confirmed; }));
  ASSERT_TRUE(run_until(io_, [&] { return silent.closed.has_value(); }, 3s));
  EXPECT_EQ(silent.closed->error_code, static_cast<std::uint64_t>(CloseCode::kHelloTimeout));
  EXPECT_EQ(b.ups, 0);
}

TEST_F(LoopbackTest, SimultaneousDialsEndWithOneSession) {
  for (int round = 0; round < 3; ++round) {
    Node a(io_, nodes_[0]), b(io_, nodes_[1]);
    a.mgr->add_static_peer(b.address());
    b.mgr->add_static_peer(a.address());
    ASSERT_TRUE(run_until(io_, [&] { return a.to(b) && b.to(a); }));
    run_until(
        io_, [] { return false; }, 1500ms);  // let every dial and re-dial settle
    ASSERT_TRUE(a.to(b) && b.to(a));
    EXPECT_EQ(a.mgr->up_sessions().size(), 1u);
    EXPECT_EQ(b.mgr->up_sessions().size(), 1u);
    bool a_smaller = a.id.node_id() < b.id.node_id();
    // Both kept the connection dialled by the smaller node id.
    EXPECT_EQ(a.to(b)->dialled(), a_smaller);
    EXPECT_EQ(b.to(a)->dialled(), !a_smaller);
    a.mgr->shutdown();
    b.mgr->shutdown();
  }
}

TEST_F(LoopbackTest, Ipv6Loopback) {
  Node a(io_, nodes_[0], 0, "::1"), b(io_, nodes_[1], 0, "::1");
  ASSERT_TRUE(a.mgr->dial(b.address(), b.id.node_id()));
  ASSERT_TRUE(run_until(io_, [&] { return a.to(b) && b.to(a); }));
  EXPECT_EQ(a.to(b)->remote_address().to_string(), b.address().to_string());
  EXPECT_GE(a.to(b)->datagram_room(), 1150u);
}

TEST_F(LoopbackTest, WrongExpectedPeerIsRefused) {
  CapturedLog logs("transport");
  Node a(io_, nodes_[0]), b(io_, nodes_[1]);
  ASSERT_TRUE(a.mgr->dial(b.address(), nodes_[2].node_id));  // b is not c
  ASSERT_TRUE(run_until(io_, [&] { return a.mgr->session_count() == 0; }));
  EXPECT_EQ(a.ups + b.ups, 0);
  EXPECT_TRUE(logs.contains("expected " + identity::text_id(nodes_[2].node_id)));
}

TEST_F(LoopbackTest, ThreeNodesFullMesh) {
  Node a(io_, nodes_[0]), b(io_, nodes_[1]), c(io_, nodes_[2]);
  a.mgr->add_static_peer(b.address());
  a.mgr->add_static_peer(c.address());
  b.mgr->add_static_peer(c.address());
  ASSERT_TRUE(run_until(io_, [&] {
    return a.mgr->up_sessions().size() == 2 && b.mgr->up_sessions().size() == 2 &&
           c.mgr->up_sessions().size() == 2;
  }));
}

}  // namespace
}  // namespace qc::link
