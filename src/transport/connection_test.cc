// Two in-memory Connections, packets passed by the test, virtual time (no sockets, no sleeps).
#include "transport/connection.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>

#include "common/log.h"
#include "transport/test_pki.h"

namespace qc::transport {
namespace {

using testing::TestNode;

class Recorder : public ConnectionObserver {
 public:
  void on_handshake_confirmed(const PeerInfo& p) override {
    confirmed = true;
    peer = p;
  }
  void on_stream_data(std::int64_t id, ByteView data, bool fin) override {
    received[id] += data.size();
    if (keep_data) kept[id].insert(kept[id].end(), data.begin(), data.end());
    if (fin) fins[id] = true;
    if (!opened.count(id)) opened[id] = true;
  }
  void on_stream_writable(std::int64_t id) override {
    if (writable) writable(id);
  }
  void on_datagram(ByteView data) override { datagrams.emplace_back(data.begin(), data.end()); }
  void on_datagram_acked(std::uint64_t) override { ++acked; }
  void on_datagram_lost(std::uint64_t) override { ++lost; }
  void on_path_mtu_changed(std::size_t udp_payload, std::size_t room) override {
    mtu_changes.emplace_back(udp_payload, room);
  }
  void on_closed(const CloseInfo& info) override { closed = info; }
  void on_congestion_stalled() override { ++stalls; }
  // As the link layer does: a byte on a stream of our own gives the DATAGRAMs a PTO anchor.
  void on_datagrams_need_anchor() override {
    if (conn == nullptr) return;
    if (anchor_stream < 0) {
      auto id = conn->open_uni_stream();
      if (!id) return;
      anchor_stream = *id;
    }
    std::uint8_t b = 0;
    (void)conn->write_stream(anchor_stream, ByteView(&b, 1), false);
  }

  bool confirmed = false;
  PeerInfo peer;
  bool keep_data = false;
  std::map<std::int64_t, std::uint64_t> received;
  std::map<std::int64_t, Bytes> kept;
  std::map<std::int64_t, bool> fins, opened;
  std::vector<Bytes> datagrams;
  int acked = 0, lost = 0, stalls = 0;
  Connection* conn = nullptr;  // set for on_datagrams_need_anchor
  std::int64_t anchor_stream = -1;
  std::optional<CloseInfo> closed;
  std::function<void(std::int64_t)> writable;
  std::vector<std::pair<std::size_t, std::size_t>> mtu_changes;
};

class QueueSink : public PacketSink {
 public:
  std::span<std::uint8_t> buffer(std::size_t max_len) override {
    buf_.resize(std::max(buf_.size(), max_len));
    return buf_;
  }
  void commit(const Path&, std::size_t len, std::uint8_t) override {
    out.emplace_back(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(len));
  }
  std::vector<Bytes> out;

 private:
  Bytes buf_;
};

// A client and a server joined by a link of fixed one-way delay, in virtual time.
class Pair {
 public:
  Pair(const TestNode& client_node, const TestNode& server_node,
       std::optional<identity::NodeId> expected = std::nullopt, Duration delay = kMillisecond,
       Duration keep_alive = 5 * kSecond,
       const std::function<void(ConnectionSettings&)>& tune = nullptr) {
    delay_ = delay;
    client_addr_ = *Address::parse("127.0.0.1", 40000);
    server_addr_ = *Address::parse("127.0.0.1", 40001);
    auto ctls = TlsContext::create(client_node.creds);
    auto stls = TlsContext::create(server_node.creds);
    if (!ctls || !stls) {
      ADD_FAILURE() << "tls context: " << (!ctls ? ctls.error() : stls.error()).to_string();
      return;
    }
    cs_.role = Role::kClient;
    cs_.tls = *ctls;
    cs_.expected_peer = expected;
    cs_.keep_alive = keep_alive;
    ss_.role = Role::kServer;
    ss_.tls = *stls;
    ss_.keep_alive = keep_alive;
    if (tune) {
      tune(cs_);
      tune(ss_);
    }
    auto c = Connection::connect(cs_, Path{client_addr_, server_addr_}, &client_obs, now_);
    EXPECT_TRUE(c) << c.error().to_string();
    if (c) client = std::move(*c);
  }

  // Runs until `done` or `limit` of virtual time passed. Returns whether `done` became true.
  bool run(const std::function<bool()>& done, Duration limit = 10 * kSecond) {
    Timestamp end = now_ + limit;
    while (now_ < end) {
      if (done()) return true;
      flush();
      Timestamp next = kNever;
      if (!to_server_.empty()) next = std::min(next, to_server_.front().first);
      if (!to_client_.empty()) next = std::min(next, to_client_.front().first);
      if (client) next = std::min(next, client->expiry());
      if (server) next = std::min(next, server->expiry());
      if (next == kNever) return done();
      now_ = std::max(now_, next);
      deliver();
      if (client && client->expiry() <= now_) client->handle_expiry(now_);
      if (server && server->expiry() <= now_) server->handle_expiry(now_);
    }
    return done();
  }

  void flush() {
    if (client && !client->is_closed()) {
      QueueSink sink;
      client->write_packets(now_, sink);
      // Loss comes in bursts, one GSO send at a time (packets of one size, the last one may be
      // shorter), as a firewall drops the unsegmented send, or a full router queue the packets
      // in a row.
      bool drop = false;
      std::size_t gso_size = 0;  // 0: the next packet starts a send
      for (auto& p : sink.out) {
        largest_packet = std::max(largest_packet, p.size());
        if (gso_size == 0 || p.size() > gso_size) {
          gso_size = p.size();
          drop = drop_to_server && drop_to_server(p.size());
        } else if (p.size() < gso_size) {
          gso_size = 0;  // a shorter packet ends the send
        }
        if (!drop) to_server_.emplace_back(now_ + delay_, std::move(p));
      }
    }
    if (server && !server->is_closed()) {
      QueueSink sink;
      server->write_packets(now_, sink);
      for (auto& p : sink.out) {
        largest_packet = std::max(largest_packet, p.size());
        to_client_.emplace_back(now_ + delay_, std::move(p));
      }
    }
  }

  void deliver() {
    while (!to_server_.empty() && to_server_.front().first <= now_) {
      Bytes p = std::move(to_server_.front().second);
      to_server_.pop_front();
      Path path{server_addr_, nat_ ? *nat_ : client_addr_};
      if (!server) {
        if (!Connection::is_client_initial(p)) continue;
        auto s = Connection::accept(ss_, path, p, &server_obs, now_);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s) continue;
        server = std::move(*s);
      }
      if (!server->is_closed()) (void)server->read_packet(path, p, 0, now_);
    }
    while (!to_client_.empty() && to_client_.front().first <= now_) {
      Bytes p = std::move(to_client_.front().second);
      to_client_.pop_front();
      if (client && !client->is_closed()) {
        (void)client->read_packet(Path{client_addr_, server_addr_}, p, 0, now_);
      }
    }
  }

  bool both_confirmed() const { return client_obs.confirmed && server_obs.confirmed; }
  bool both_closed() const { return client_obs.closed && server_obs.closed; }

  Timestamp now_ = kSecond;
  std::size_t largest_packet = 0;
  // When set and true for a send of the client's (given the size of its first packet), the
  // send's packets are lost on the way.
  std::function<bool(std::size_t)> drop_to_server;
  // When set, the server sees the client's packets from this address (a NAT rebinding).
  std::optional<Address> nat_;
  Recorder client_obs, server_obs;
  std::unique_ptr<Connection> client, server;

 private:
  Duration delay_;
  Address client_addr_, server_addr_;
  ConnectionSettings cs_, ss_;
  std::deque<std::pair<Timestamp, Bytes>> to_server_, to_client_;
};

class ConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ca_ = new identity::CertAuthority(testing::make_test_ca("test CA"));
    other_ca_ = new identity::CertAuthority(testing::make_test_ca("other CA"));
    a_ = new TestNode(testing::make_test_node(*ca_, "node-a"));
    b_ = new TestNode(testing::make_test_node(*ca_, "node-b"));
  }
  static identity::CertAuthority* ca_;
  static identity::CertAuthority* other_ca_;
  static TestNode* a_;
  static TestNode* b_;
};
identity::CertAuthority* ConnectionTest::ca_ = nullptr;
identity::CertAuthority* ConnectionTest::other_ca_ = nullptr;
TestNode* ConnectionTest::a_ = nullptr;
TestNode* ConnectionTest::b_ = nullptr;

TEST_F(ConnectionTest, HandshakeVerifiesBothPeers) {
  Pair p(*a_, *b_, b_->node_id);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  EXPECT_EQ(p.client_obs.peer.node_id, b_->node_id);
  EXPECT_EQ(p.server_obs.peer.node_id, a_->node_id);
  EXPECT_FALSE(p.client_obs.peer.chain_der.empty());
  EXPECT_TRUE(p.client->is_handshake_confirmed());
  // Handshake pacing is off: the handshake takes a few RTTs of 2 ms, not a PTO.
  EXPECT_LT(p.now_, kSecond + 50 * kMillisecond);
}

TEST_F(ConnectionTest, BulkStreamWithBackPressure) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  auto id = p.client->open_bidi_stream();
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(*id, 0);
  constexpr std::uint64_t kTotal = 24u << 20;
  Bytes chunk(256 * 1024);
  for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::uint8_t>(i * 7);
  std::uint64_t written = 0;
  bool blocked_once = false;
  auto pump = [&] {
    while (written < kTotal) {
      std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), kTotal - written));
      bool fin = written + n == kTotal;
      auto w = p.client->write_stream(*id, ByteView(chunk.data(), n), fin);
      ASSERT_TRUE(w);
      written += *w;
      if (*w < n) {
        blocked_once = true;
        return;
      }
    }
  };
  p.client_obs.writable = [&](std::int64_t) { pump(); };
  pump();
  ASSERT_TRUE(p.run([&] { return p.server_obs.fins[*id]; }, 60 * kSecond));
  EXPECT_EQ(p.server_obs.received[*id], kTotal);
  EXPECT_TRUE(blocked_once);
  // The server answers on the same stream.
  ASSERT_TRUE(p.server->write_stream(*id, as_bytes("pong"), true));
  ASSERT_TRUE(p.run([&] { return p.client_obs.fins[*id]; }));
  EXPECT_EQ(p.client_obs.received[*id], 4u);
}

TEST_F(ConnectionTest, Datagrams) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  std::size_t room = p.client->datagram_room();
  EXPECT_GE(room, 1150u);
  EXPECT_EQ(p.client->send_datagram({}).status, DatagramStatus::kInvalid);
  Bytes big(room + 1, 1);
  EXPECT_EQ(p.client->send_datagram(big).status, DatagramStatus::kTooBig);
  Bytes d(1000, 0x5a);
  int accepted = 0;
  for (int i = 0; i < 100; ++i) {
    d[0] = static_cast<std::uint8_t>(i);
    if (p.client->send_datagram(d).status == DatagramStatus::kAccepted) ++accepted;
  }
  EXPECT_EQ(accepted, 100);
  Bytes full(room, 2);
  EXPECT_EQ(p.client->send_datagram(full).status, DatagramStatus::kAccepted);
  ASSERT_TRUE(p.run([&] { return p.server_obs.datagrams.size() == 101; }));
  EXPECT_EQ(p.server_obs.datagrams[5][0], 5);
  EXPECT_EQ(p.server_obs.datagrams[100].size(), room);
  ASSERT_TRUE(p.run([&] { return p.client_obs.acked == 101; }));
  // And the other way.
  EXPECT_EQ(p.server->send_datagram(as_bytes("hi")).status, DatagramStatus::kAccepted);
  ASSERT_TRUE(p.run([&] { return p.client_obs.datagrams.size() == 1; }));
}

TEST_F(ConnectionTest, BlockedWhenQueueFull) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  Bytes d(100, 1);
  int accepted = 0;
  DatagramStatus last = DatagramStatus::kAccepted;
  for (int i = 0; i < 1000 && last == DatagramStatus::kAccepted; ++i) {
    last = p.client->send_datagram(d).status;
    if (last == DatagramStatus::kAccepted) ++accepted;
  }
  EXPECT_EQ(last, DatagramStatus::kBlocked);
  EXPECT_EQ(accepted, 256);
}

// A relay's session carries DATAGRAMs only, in bursts (what one receive batch brought), and
// loses whole bursts (one GSO send dropped). With the anchor only at the start of a burst, a
// lost burst that filled the congestion window was in flight with nothing to time it out once
// the anchor was acknowledged, and the session stalled for good (seen every 0.5 s under the
// e2e test's 2 % loss). The anchors must keep such a flight within what a loss leaves of the
// window.
TEST_F(ConnectionTest, DatagramBurstsLostWholeNeverStall) {
  struct Pattern {
    int burst;
    Duration every;
    std::uint64_t seed;
    CongestionControl cc = CongestionControl::kCubic;
  };
  for (Pattern pat : {Pattern{30, 10 * kMillisecond, 1}, Pattern{64, 20 * kMillisecond, 2},
                      Pattern{30, 10 * kMillisecond, 3},
                      Pattern{30, 10 * kMillisecond, 4, CongestionControl::kReno}}) {
    SCOPED_TRACE(::testing::Message()
                 << "bursts of " << pat.burst << " every " << pat.every / kMillisecond
                 << " ms, seed " << pat.seed << ", cc " << static_cast<int>(pat.cc));
    Pair p(*a_, *b_, std::nullopt, 5 * kMillisecond, 5 * kSecond,
           [&](ConnectionSettings& s) { s.cc = pat.cc; });
    ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
    p.client_obs.conn = p.client.get();
    std::uint64_t x = pat.seed, dropped = 0;  // sends of DATAGRAM packets lost
    Bytes d(1000, 7), back(60, 8);
    p.drop_to_server = [&](std::size_t first) {  // 2 % of the sends
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      bool drop = (x >> 33) % 100 < 2;
      if (drop && first >= d.size()) ++dropped;  // a run of DATAGRAM packets, not an ACK
      return drop;
    };
    Timestamp end = p.now_ + 5 * kSecond, next_burst = p.now_, next_back = p.now_;
    std::size_t at_4s = 0;  // DATAGRAMs that had arrived 1 s before the end
    p.run(
        [&] {
          if (p.now_ <= end - kSecond) at_4s = p.server_obs.datagrams.size();
          for (; next_burst <= p.now_; next_burst += pat.every)
            for (int i = 0; i < pat.burst; ++i)
              if (p.client->send_datagram(d).status != DatagramStatus::kAccepted) break;
          // The other way, a small DATAGRAM every 200 us (the end-to-end ACKs a relay carries).
          for (; next_back <= p.now_; next_back += 200 * kMicrosecond)
            (void)p.server->send_datagram(back);
          return p.now_ >= end || p.client_obs.stalls > 0;
        },
        6 * kSecond);
    EXPECT_EQ(p.client_obs.stalls, 0);
    EXPECT_FALSE(p.client_obs.closed.has_value());
    EXPECT_GT(dropped, 5u);
    // The flow kept going to the end: the last second brought a fair share of it. (With cubic,
    // 88-99 % of the 5 s of bursts arrives, and a stall cut that to 27-44 %; Reno's window stays
    // too small under this loss to carry as much.)
    std::uint64_t offered = 5 * kSecond / pat.every * static_cast<std::uint64_t>(pat.burst);
    EXPECT_GT(p.server_obs.datagrams.size() - at_4s, offered / 10);
    if (pat.cc == CongestionControl::kCubic) {
      EXPECT_GT(p.server_obs.datagrams.size(), offered * 4 / 5);
    }
    // About one anchor per half window (here 1 in 7 to 16 DATAGRAMs), not a storm of them.
    auto st = p.client->stats();
    EXPECT_LT(st.datagram_anchors * 4, st.datagrams_sent);
  }
}

// The state the watch is for: DATAGRAMs with no anchor (so nothing PTO-eliciting) fill the
// window and are all lost. Nothing can drain it, and it is reported once, after kStallLimit.
TEST_F(ConnectionTest, DatagramsLostWithNothingPtoElicitingIsAStall) {
  Pair p(*a_, *b_, std::nullopt, 5 * kMillisecond);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  // Everything sent so far is acknowledged first (handshake frames are PTO-eliciting).
  Bytes first(100, 1);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(p.client->send_datagram(first).status, DatagramStatus::kAccepted);
  ASSERT_TRUE(p.run([&] { return p.client_obs.acked == 10; }));
  Timestamp settle = p.now_ + 200 * kMillisecond;
  p.run([&] { return p.now_ >= settle; });
  p.drop_to_server = [](std::size_t) { return true; };
  Timestamp cut = p.now_, next_back = p.now_;
  Bytes d(1000, 7), back(60, 8);
  p.run(
      [&] {
        while (p.client->send_datagram(d).status == DatagramStatus::kAccepted) {
        }
        // The peer keeps sending: the client reads, and answers with ACK-only packets, none of
        // which drains its window.
        for (; next_back <= p.now_; next_back += kMillisecond) (void)p.server->send_datagram(back);
        return p.client_obs.stalls > 0;
      },
      3 * kSecond);
  EXPECT_GT(p.client_obs.datagrams.size(), 100u);
  ASSERT_EQ(p.client_obs.stalls, 1);
  EXPECT_GE(p.now_ - cut, Connection::kStallLimit);
  EXPECT_LT(p.now_ - cut, Connection::kStallLimit + 200 * kMillisecond);
}

// Stream data held by connection-level flow control (a peer that stopped reading) cannot be an
// anchor: DATAGRAMs must still go (a channel's VPN packets beside a stalled proxied stream).
TEST_F(ConnectionTest, DatagramsFlowWhileStreamsWaitForConnectionCredit) {
  Pair p(*a_, *b_, std::nullopt, 5 * kMillisecond, 5 * kSecond, [](ConnectionSettings& s) {
    s.initial_max_data = 32 * 1024;
    s.manual_stream_credit = true;  // and nobody credits anything
  });
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  p.client_obs.conn = p.client.get();
  auto id = p.client->open_bidi_stream();
  ASSERT_TRUE(id);
  Bytes big(64 * 1024, 1);
  ASSERT_TRUE(p.client->write_stream(*id, big, false));
  ASSERT_TRUE(p.run([&] { return p.server_obs.received[*id] >= 30 * 1024; }));
  Bytes d(1000, 7);
  std::size_t sent = 0;
  Timestamp end = p.now_ + 2 * kSecond;
  p.run(
      [&] {
        while (sent < 2000 && p.client->send_datagram(d).status == DatagramStatus::kAccepted) ++sent;
        return p.now_ >= end;
      },
      3 * kSecond);
  EXPECT_LE(p.server_obs.received[*id], 32u * 1024);  // the stream is still held back
  EXPECT_EQ(sent, 2000u);
  EXPECT_EQ(p.server_obs.datagrams.size(), 2000u);
  // No anchor is asked for while none could go (they would only pile up behind the stream).
  EXPECT_LT(p.client->stats().datagram_anchors, 10u);
}

TEST_F(ConnectionTest, ApplicationCloseCarriesCodeAndReason) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  p.server->close(7, "protocol violation: test");
  ASSERT_TRUE(p.run([&] { return p.both_closed(); }));
  EXPECT_EQ(p.client_obs.closed->kind, CloseInfo::Kind::kPeer);
  EXPECT_TRUE(p.client_obs.closed->application);
  EXPECT_EQ(p.client_obs.closed->error_code, 7u);
  EXPECT_EQ(p.client_obs.closed->reason, "protocol violation: test");
  EXPECT_EQ(p.server_obs.closed->kind, CloseInfo::Kind::kLocal);
}

TEST_F(ConnectionTest, IdleTimeout) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  // Keep-alive (5 s) keeps the connection up past the idle timeout (30 s).
  p.run([] { return false; }, 40 * kSecond);
  EXPECT_FALSE(p.client_obs.closed);
}

TEST_F(ConnectionTest, IdleTimeoutWithoutKeepAlive) {
  Pair p(*a_, *b_, std::nullopt, kMillisecond, /*keep_alive=*/0);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  Timestamp confirmed_at = p.now_;
  ASSERT_TRUE(p.run([&] { return p.both_closed(); }, 60 * kSecond));
  EXPECT_EQ(p.client_obs.closed->kind, CloseInfo::Kind::kIdleTimeout);
  EXPECT_EQ(p.server_obs.closed->kind, CloseInfo::Kind::kIdleTimeout);
  EXPECT_GE(p.now_ - confirmed_at, 29 * kSecond);
  EXPECT_LE(p.now_ - confirmed_at, 32 * kSecond);
}

TEST_F(ConnectionTest, StreamResetAndPeerOpenedStream) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  auto id = p.client->open_bidi_stream();
  ASSERT_TRUE(id);
  ASSERT_TRUE(p.client->write_stream(*id, as_bytes("hello")));
  ASSERT_TRUE(p.run([&] { return p.server_obs.received[*id] == 5; }));
  // The server opens its own stream back (server-initiated ids are 1, 5, ...).
  auto sid = p.server->open_bidi_stream();
  ASSERT_TRUE(sid);
  EXPECT_EQ(*sid, 1);
  ASSERT_TRUE(p.server->write_stream(*sid, as_bytes("x"), true));
  ASSERT_TRUE(p.run([&] { return p.client_obs.fins[*sid]; }));
  ASSERT_TRUE(p.client->reset_stream(*id, 42));
  EXPECT_FALSE(p.client->write_stream(*id, as_bytes("more")));
  EXPECT_FALSE(p.client->write_stream(12345, as_bytes("unknown stream")));
}

TEST_F(ConnectionTest, PathMtuDiscoveryRaisesDatagramRoom) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  p.run([&] { return p.client->path_max_udp_payload() >= 1406; });
  std::size_t path_max = p.client->path_max_udp_payload();
  ASSERT_GE(path_max, 1406u) << "PMTUD should raise the path maximum above 1200";
  // Room = path max - 20 - DCID (8) - packet number reserve (2).
  EXPECT_EQ(p.client->datagram_room(), path_max - 30);
  ASSERT_FALSE(p.client_obs.mtu_changes.empty());
  EXPECT_EQ(p.client_obs.mtu_changes.back().first, path_max);
  EXPECT_EQ(p.client_obs.mtu_changes.back().second, path_max - 30);
  EXPECT_GT(p.largest_packet, 1200u);
  // A datagram of exactly the room is sent.
  Bytes d(p.client->datagram_room(), 3);
  EXPECT_EQ(p.client->send_datagram(d).status, DatagramStatus::kAccepted);
  ASSERT_TRUE(p.run([&] { return p.server_obs.datagrams.size() == 1; }));
}

// The channel layer's configuration (issue 5): fixed inner size, no PMTUD, no shaping.
TEST_F(ConnectionTest, InnerChannelModeNeverExceedsItsSize) {
  Pair p(*a_, *b_, std::nullopt, kMillisecond, 5 * kSecond, [](ConnectionSettings& s) {
    s.max_tx_udp_payload_size = 1402;
    s.pmtud = false;
    s.payload_shaping = false;
  });
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  auto id = p.client->open_bidi_stream();
  ASSERT_TRUE(id);
  Bytes big(1 << 20, 9);
  ASSERT_TRUE(p.client->write_stream(*id, big, true));
  ASSERT_TRUE(p.run([&] { return p.server_obs.fins[*id]; }));
  EXPECT_EQ(p.largest_packet, 1402u);
  EXPECT_EQ(p.client->datagram_room(), 1402u - 20 - 8 - 2);
}

TEST_F(ConnectionTest, ServerFollowsClientAddressChange) {
  Pair p(*a_, *b_);
  ASSERT_TRUE(p.run([&] { return p.both_confirmed(); }));
  auto id = p.client->open_bidi_stream();
  ASSERT_TRUE(id);
  ASSERT_TRUE(p.client->write_stream(*id, Bytes(100000, 1)));
  ASSERT_TRUE(p.run([&] { return p.server_obs.received[*id] == 100000; }));
  p.nat_ = *Address::parse("127.0.0.1", 50000);  // the client's NAT picked a new port
  ASSERT_TRUE(p.client->write_stream(*id, Bytes(100000, 2), true));
  ASSERT_TRUE(p.run([&] { return p.server_obs.fins[*id]; }));
  EXPECT_EQ(p.server_obs.received[*id], 200000u);
  EXPECT_EQ(p.server->path().remote.port(), 50000);
  EXPECT_FALSE(p.client_obs.closed);
}

// ---- refusals ----

struct CapturedLog {
  CapturedLog() : sink(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
    log::get("transport")->sinks().push_back(sink);
  }
  ~CapturedLog() {
    auto& s = log::get("transport")->sinks();
    s.erase(std::remove(s.begin(), s.end(), sink), s.end());
  }
  bool contains(const std::string& text) const {
    for (const auto& line : sink->last_formatted()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink;
};

void expect_refused(Pair& p) {
  ASSERT_TRUE(p.run([&] { return p.both_closed(); })) << "both sides should give up";
  EXPECT_FALSE(p.client_obs.confirmed);
  EXPECT_FALSE(p.server_obs.confirmed);
  EXPECT_EQ(p.client_obs.closed->kind, CloseInfo::Kind::kTlsRefused)
      << p.client_obs.closed->to_string();
  EXPECT_EQ(p.server_obs.closed->kind, CloseInfo::Kind::kTlsRefused)
      << p.server_obs.closed->to_string();
  EXPECT_TRUE(p.server_obs.received.empty());
  EXPECT_TRUE(p.client_obs.received.empty());
}

TEST_F(ConnectionTest, ClientFromOtherCaRefused) {
  CapturedLog logs;
  TestNode rogue = testing::make_test_node(*other_ca_, "rogue");
  Pair p(rogue, *b_);
  expect_refused(p);
  EXPECT_TRUE(logs.contains("refused peer")) << "the refusal must be logged";
}

TEST_F(ConnectionTest, ServerFromOtherCaRefused) {
  CapturedLog logs;
  TestNode rogue = testing::make_test_node(*other_ca_, "rogue");
  Pair p(*a_, rogue);
  expect_refused(p);
  EXPECT_TRUE(logs.contains("refused peer"));
}

TEST_F(ConnectionTest, ExpiredCertificateRefused) {
  CapturedLog logs;
  TestNode old = testing::make_test_node(*ca_, "old", /*expired=*/true);
  Pair p(old, *b_);
  expect_refused(p);
  EXPECT_TRUE(logs.contains("expired")) << "the log should say why";
  Pair q(*a_, old);
  expect_refused(q);
}

TEST_F(ConnectionTest, MismatchedKeyRefused) {
  CapturedLog logs;
  TestNode liar = testing::with_wrong_key(*a_, *b_);
  Pair p(liar, *b_);
  expect_refused(p);
  Pair q(*a_, liar);
  expect_refused(q);
  EXPECT_TRUE(logs.contains("handshake with")) << "the failed handshake must be logged";
}

TEST_F(ConnectionTest, WrongExpectedPeerRefused) {
  CapturedLog logs;
  Pair p(*a_, *b_, a_->node_id);  // we dial b but expect a
  expect_refused(p);
  EXPECT_TRUE(logs.contains("expected " + identity::text_id(a_->node_id)));
}

}  // namespace
}  // namespace qc::transport
