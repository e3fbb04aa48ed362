// Channels between in-memory nodes over circuits (TwinNetwork, virtual time): transfers through
// a relay (hash-checked, no plaintext at the relay), failover between two circuits, loss, MTU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "channel/testing/twin_network.h"
#include "transport/test_pki.h"

namespace qc::channel {
namespace {

using testing::TwinLink;
using testing::TwinNetwork;

constexpr std::string_view kMarker = "QC-PLAINTEXT-MARKER-7f3a";

// Deterministic payload: a marker every 64 KiB, pseudo-random bytes elsewhere.
std::uint8_t payload_at(std::uint64_t i) {
  std::uint64_t in_block = i % 65536;
  if (in_block < kMarker.size()) return static_cast<std::uint8_t>(kMarker[in_block]);
  std::uint64_t x = i * 0x9e3779b97f4a7c15ull;
  return static_cast<std::uint8_t>((x >> 29) ^ (x >> 47));
}

std::uint64_t fnv(std::uint64_t h, ByteView d) {
  for (std::uint8_t b : d) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

struct Obs : ChannelObserver {
  void on_channel_ready(const NodeId&) override { ++ready; }
  void on_channel_closed(const NodeId&, const Error& e) override { closed.push_back(e); }
  void on_stream_data(const NodeId&, std::int64_t, ByteView d, bool fin) override {
    for (std::size_t k = 0; k < d.size(); ++k) {
      if (d[k] != payload_at(received + k)) ++mismatches;
    }
    hash = fnv(hash, d);
    received += d.size();
    if (!d.empty()) {
      if (last_data != 0) max_gap = std::max(max_gap, *now - last_data);
      last_data = *now;
    }
    if (fin) got_fin = true;
  }
  void on_stream_writable(const NodeId&, std::int64_t) override {
    if (pump) pump();
  }
  void on_datagram(const NodeId&, ByteView d) override {
    datagrams.emplace_back(d.begin(), d.end());
  }
  void on_want_circuits(const NodeId&, std::size_t) override { ++want; }

  const Timestamp* now = nullptr;
  int ready = 0, want = 0;
  std::vector<Error> closed;
  std::uint64_t received = 0, mismatches = 0, hash = 0xcbf29ce484222325ull;
  bool got_fin = false;
  Timestamp last_data = 0;
  Duration max_gap = 0;
  std::vector<Bytes> datagrams;
  std::function<void()> pump;
};

// Writes `total` payload bytes on one stream, with back-pressure.
struct Sender {
  Channel* ch = nullptr;
  std::int64_t stream = -1;
  std::uint64_t total = 0, sent = 0, hash = 0xcbf29ce484222325ull;
  bool fin = false;
  Bytes chunk;
  void pump() {
    while (!fin) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - sent));
      chunk.resize(n);
      for (std::size_t k = 0; k < n; ++k) chunk[k] = payload_at(sent + k);
      bool last = sent + n == total;
      auto r = ch->write_stream(stream, chunk, last);
      ASSERT_TRUE(r) << r.error().to_string();
      hash = fnv(hash, ByteView(chunk.data(), *r));
      sent += *r;
      if (*r == n && last) fin = true;
      if (*r < n) break;
    }
  }
};

struct World {
  explicit World(int relays_paths, std::uint64_t seed = 7, ChannelConfig base = {}) : net(seed) {
    auto ca = transport::testing::make_test_ca("channel test ca");
    auto a = transport::testing::make_test_node(ca, "node-a");
    auto b = transport::testing::make_test_node(ca, "node-b");
    ida = a.node_id;
    idb = b.node_id;
    A = net.add_node();
    B = net.add_node();
    ChannelConfig ca_cfg = base, cb_cfg = base;
    ca_cfg.self = ida;
    ca_cfg.tls = *transport::TlsContext::create(a.creds);
    cb_cfg.self = idb;
    cb_cfg.tls = *transport::TlsContext::create(b.creds);
    tls_b = cb_cfg.tls;
    oa.now = ob.now = &net.now;
    net.nodes[0]->mgr = std::make_unique<ChannelManager>(ca_cfg, net.nodes[0]->dp, oa);
    net.nodes[1]->mgr = std::make_unique<ChannelManager>(cb_cfg, net.nodes[1]->dp, ob);
    net.nodes[0]->dp.set_receiver(net.nodes[0]->mgr.get());
    net.nodes[1]->dp.set_receiver(net.nodes[1]->mgr.get());
    for (int i = 0; i < relays_paths; ++i) {
      int r = net.add_node();
      relays.push_back(r);
      auto s1 = net.add_link(A, r);
      auto s2 = net.add_link(r, B);
      first_hops.push_back(s1);
      second_hops.push_back(s2);
      // A 1-byte label on the first hop, a 2-byte one on the second (the relay resizes).
      net.add_circuit({A, r, B}, {s1, s2},
                      {static_cast<circuit::Label>(5 + i), static_cast<circuit::Label>(300 + i)},
                      ida, idb);
    }
  }
  ChannelManager& ma() { return *net.nodes[0]->mgr; }
  ChannelManager& mb() { return *net.nodes[1]->mgr; }

  // Opens A -> B and sends `bytes` on one stream; returns when B has the FIN or time ran out.
  bool transfer(std::uint64_t bytes, Duration limit, const std::function<void()>& during = {}) {
    Channel* ch = ma().open(idb, net.now);
    if (!net.run([&] { return oa.ready > 0 || !oa.closed.empty(); }, 5 * kSecond)) return false;
    ch = ma().find(idb);
    if (ch == nullptr) return false;
    sender.ch = ch;
    auto id = ch->open_stream();
    if (!id) return false;
    sender.stream = *id;
    sender.total = bytes;
    oa.pump = [&] { sender.pump(); };
    sender.pump();
    ma().flush(net.now);
    return net.run(
        [&] {
          if (during) during();
          return ob.got_fin;
        },
        limit);
  }

  TwinNetwork net;
  NodeId ida{}, idb{};
  std::shared_ptr<const transport::TlsContext> tls_b;
  int A = 0, B = 0;
  std::vector<int> relays;
  std::vector<circuit::SessionId> first_hops, second_hops;
  Obs oa, ob;
  Sender sender;
};

TEST(ChannelTest, TransferThroughRelayIsIntactAndOpaque) {
  World w(1);
  std::uint64_t marker_hits = 0, relay_bytes = 0;
  w.net.nodes[static_cast<std::size_t>(w.relays[0])]->sniff = [&](circuit::SessionId, ByteView d) {
    relay_bytes += d.size();
    if (std::search(d.begin(), d.end(), kMarker.begin(), kMarker.end()) != d.end()) ++marker_hits;
  };
  const std::uint64_t total = 16u << 20;
  ASSERT_TRUE(w.transfer(total, 120 * kSecond));
  EXPECT_EQ(w.ob.received, total);
  EXPECT_EQ(w.ob.mismatches, 0u);
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  EXPECT_EQ(w.ob.ready, 1);
  EXPECT_GT(relay_bytes, total);
  EXPECT_EQ(marker_hits, 0u) << "the relay saw channel plaintext";
  auto& relay = w.net.nodes[static_cast<std::size_t>(w.relays[0])]->dp;
  EXPECT_GT(relay.stats().forwarded, total / 1500);
  EXPECT_EQ(relay.stats().unknown_label, 0u);
  Channel* ch = w.ma().find(w.idb);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->packet_size(), 1401u);
  // Probes measured the path, and the relay reported its hop.
  ASSERT_EQ(ch->paths().size(), 1u);
  EXPECT_GT(ch->paths()[0].rtt, 0u);
  ASSERT_EQ(ch->paths()[0].hops.size(), 1u);
  EXPECT_EQ(ch->paths()[0].hops[0].room, 1404u - 3);
  // One path is fewer than min_healthy_paths: the circuit builder was asked for more.
  EXPECT_GE(w.oa.want, 1);
}

TEST(ChannelTest, TwoHundredMegabytesThroughRelay) {
  World w(1);
  std::uint64_t marker_hits = 0;
  w.net.nodes[static_cast<std::size_t>(w.relays[0])]->sniff = [&](circuit::SessionId, ByteView d) {
    if (std::search(d.begin(), d.end(), kMarker.begin(), kMarker.end()) != d.end()) ++marker_hits;
  };
#if defined(__SANITIZE_ADDRESS__)
  const std::uint64_t total = 20u * 1000 * 1000;  // sanitizer builds are 10x slower
#else
  const std::uint64_t total = 200u * 1000 * 1000;
#endif
  Timestamp start = w.net.now;
  ASSERT_TRUE(w.transfer(total, 600 * kSecond));
  EXPECT_EQ(w.ob.received, total);
  EXPECT_EQ(w.ob.mismatches, 0u);
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  EXPECT_EQ(marker_hits, 0u);
  std::printf("%.0f MB through a relay in %.2f s of virtual time\n",
              static_cast<double>(total) / 1e6, static_cast<double>(w.net.now - start) / 1e9);
}

TEST(ChannelTest, DatagramsAndTheTooLargeError) {
  World w(1);
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  Channel* ch = w.ma().find(w.idb);
  ASSERT_NE(ch, nullptr);
  std::size_t room = ch->datagram_room();
  EXPECT_GT(room, 1300u);
  EXPECT_LT(room, 1401u);
  Bytes big(room + 1, 1);
  auto r = ch->send_datagram(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kTooLarge);
  Bytes ok(room, 2);
  ASSERT_TRUE(ch->send_datagram(ok));
  w.ma().flush(w.net.now);
  ASSERT_TRUE(w.net.run([&] { return !w.ob.datagrams.empty(); }, kSecond));
  EXPECT_EQ(w.ob.datagrams[0], ok);
}

// A channel carrying nothing but DATAGRAMs (VPN traffic) survives a burst of loss that takes
// every packet in flight: ngtcp2 0.12.1 arms no retransmission timer for DATAGRAMs, so without
// the anchor bytes the window would stay full and nothing would be sent again.
TEST(ChannelTest, DatagramOnlyTrafficSurvivesABlackout) {
  World w(1);
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  Channel* ch = w.ma().find(w.idb);
  ASSERT_NE(ch, nullptr);
  Bytes d(1000, 7);
  auto pump = [&] {
    for (int i = 0; i < 64; ++i)
      if (!ch->send_datagram(d)) break;
    w.ma().flush(w.net.now);
  };
  const Timestamp start = w.net.now;
  bool cut = false, restored = false;
  std::size_t at_restore = 0;
  Timestamp restored_at = 0;
  ASSERT_TRUE(w.net.run(
      [&] {
        pump();
        if (!cut && w.net.now > start + 50 * kMillisecond) {
          w.net.link(w.first_hops[0]).blackhole = true;
          cut = true;
        }
        if (cut && !restored && w.net.now > start + 150 * kMillisecond) {
          w.net.link(w.first_hops[0]).blackhole = false;
          restored = true;
          restored_at = w.net.now;
          at_restore = w.ob.datagrams.size();
        }
        return restored && w.ob.datagrams.size() > at_restore + 1000;
      },
      10 * kSecond))
      << "datagrams after the blackout: " << w.ob.datagrams.size() - at_restore;
  std::printf("datagrams flow again %.1f ms after the blackout\n",
              static_cast<double>(w.net.now - restored_at) / 1e6);
}

TEST(ChannelTest, LargerIdOpensByWakingThePeer) {
  World w(1);
  // Whichever of A, B has the larger id opens; the smaller one must become the QUIC client.
  bool a_larger = w.idb < w.ida;
  ChannelManager& opener = a_larger ? w.ma() : w.mb();
  opener.open(a_larger ? w.idb : w.ida, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  EXPECT_EQ(w.ma().size(), 1u);
  EXPECT_EQ(w.mb().size(), 1u);
}

// Sends 16 MB A -> B and cuts the path in use a third of the way (silently, both directions:
// only probes and QUIC can notice); the transfer must finish intact, stalling under 2 s.
void transfer_with_cut(World& w) {
  const std::uint64_t total = 16u << 20;
  bool cut = false;
  Timestamp cut_at = 0;
  auto during = [&] {
    if (cut || w.ob.received < total / 3) return;
    Channel* ch = w.ma().find(w.idb);
    if (ch == nullptr || !ch->current_path()) return;
    circuit::SessionId s = ch->paths()[*ch->current_path()].session;
    for (std::size_t i = 0; i < w.first_hops.size(); ++i) {
      if (w.first_hops[i] == s) {
        w.net.link(w.first_hops[i]).blackhole = true;
        w.net.link(w.second_hops[i]).blackhole = true;
      }
    }
    cut = true;
    cut_at = w.net.now;
    w.ob.max_gap = 0;
  };
  ASSERT_TRUE(w.transfer(total, 120 * kSecond, during));
  ASSERT_TRUE(cut);
  EXPECT_EQ(w.ob.received, total);
  EXPECT_EQ(w.ob.mismatches, 0u);
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  std::printf("failover: stall %.1f ms after the cut (transfer done %.1f ms after it)\n",
              static_cast<double>(w.ob.max_gap) / 1e6,
              static_cast<double>(w.net.now - cut_at) / 1e6);
  EXPECT_LT(w.ob.max_gap, 2 * kSecond);
  Channel* ch = w.ma().find(w.idb);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->healthy_paths(), 1u);
}

TEST(ChannelTest, FailoverWhenThePathInUseIsCut) {
  World w(2);
  transfer_with_cut(w);
}

// The same with 2 ms one-way delay on every link and a 100 MB/s bottleneck after each relay:
// queues fill, the RTT grows and QUIC backs off its retransmission timer before the cut is seen.
TEST(ChannelTest, FailoverUnderLoadWithQueues) {
  World w(2);
  for (std::size_t i = 0; i < w.first_hops.size(); ++i) {
    w.net.link(w.first_hops[i]).delay = 2 * kMillisecond;
    w.net.link(w.second_hops[i]).delay = 2 * kMillisecond;
    w.net.link(w.second_hops[i]).bytes_per_ns = 0.1;
  }
  transfer_with_cut(w);
}

TEST(ChannelTest, FailoverOnCircuitDown) {
  World w(2);
  const std::uint64_t total = 8u << 20;
  bool cut = false;
  auto during = [&] {
    if (cut || w.ob.received < total / 3) return;
    Channel* ch = w.ma().find(w.idb);
    if (ch == nullptr || !ch->current_path()) return;
    auto p = ch->paths()[*ch->current_path()];
    w.net.link(p.session).up = false;
    w.ma().on_circuit_down(p.session, p.label, w.net.now);
    cut = true;
    w.ob.max_gap = 0;
  };
  ASSERT_TRUE(w.transfer(total, 120 * kSecond, during));
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  EXPECT_LT(w.ob.max_gap, 2 * kSecond);
}

TEST(ChannelTest, TwoPercentLossOnTheRelayHopCompletes) {
  World w(1, 42);
  w.net.link(w.second_hops[0]).loss = 0.02;
  const std::uint64_t total = 8u << 20;
  ASSERT_TRUE(w.transfer(total, 300 * kSecond));
  EXPECT_EQ(w.ob.received, total);
  EXPECT_EQ(w.ob.mismatches, 0u);
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  EXPECT_GT(w.net.dropped, 100u);
}

TEST(ChannelTest, PathTooSmallForAChannelIsAClearError) {
  ChannelConfig cfg;
  cfg.room_wait = kSecond;
  World w(1, 7, cfg);
  w.net.link(w.first_hops[0]).room = 1150;
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return !w.oa.closed.empty(); }, 5 * kSecond));
  EXPECT_EQ(w.oa.closed[0].code, Errc::kTooLarge);
  EXPECT_NE(w.oa.closed[0].message.find("1200"), std::string::npos) << w.oa.closed[0].message;
  EXPECT_EQ(w.ob.ready, 0);
  EXPECT_EQ(w.ma().find(w.idb), nullptr);
}

TEST(ChannelTest, RelayHopSmallerThanFirstHopSizesThePackets) {
  World w(1);
  // The relay's next hop has room 1300: the first hop alone would allow 1401-byte packets. The
  // relay reports 1297 (1300 - 3 header bytes) in the probe answer before the handshake.
  w.net.link(w.second_hops[0]).room = 1300;
  const std::uint64_t total = 2u << 20;
  ASSERT_TRUE(w.transfer(total, 60 * kSecond));
  EXPECT_EQ(w.ob.hash, w.sender.hash);
  Channel* ch = w.ma().find(w.idb);
  ASSERT_NE(ch, nullptr);
  EXPECT_EQ(ch->paths()[0].hop_room, 1297u);
  EXPECT_EQ(ch->packet_size(), 1297u);
  EXPECT_EQ(w.net.nodes[static_cast<std::size_t>(w.relays[0])]->dp.stats().too_big, 0u);
}

TEST(ChannelTest, NoCircuitIsUnreachable) {
  ChannelConfig cfg;
  cfg.room_wait = kSecond;
  World w(0, 7, cfg);
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return !w.oa.closed.empty(); }, 5 * kSecond));
  EXPECT_EQ(w.oa.closed[0].code, Errc::kUnreachable);
  EXPECT_GE(w.oa.want, 1);
}

TEST(ChannelTest, PeerRestartIsNoticedAndTheChannelReopened) {
  World w(1);
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  w.net.run([] { return false; }, 2 * kSecond);  // past kRestartGuard
  // B restarts: a fresh manager that knows its circuit but no channel.
  ChannelConfig cfg;
  cfg.self = w.idb;
  cfg.tls = w.tls_b;
  auto& nb = *w.net.nodes[1];
  nb.mgr = std::make_unique<ChannelManager>(cfg, nb.dp, w.ob);
  nb.dp.set_receiver(nb.mgr.get());
  nb.mgr->on_circuit_up(w.ida, w.second_hops[0], 300, w.net.now);
  w.ob.ready = 0;
  w.oa.ready = 0;
  nb.mgr->open(w.ida, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  ASSERT_FALSE(w.oa.closed.empty());
  EXPECT_EQ(w.oa.closed[0].code, Errc::kClosed);
  EXPECT_EQ(w.ma().size(), 1u);
}

TEST(ChannelTest, IdleChannelIsClosed) {
  ChannelConfig cfg;
  cfg.idle_timeout = 2 * kSecond;
  World w(1, 7, cfg);
  w.ma().open(w.idb, w.net.now);
  ASSERT_TRUE(w.net.run([&] { return w.oa.ready > 0 && w.ob.ready > 0; }, 5 * kSecond));
  ASSERT_TRUE(w.net.run([&] { return w.ma().size() == 0 && w.mb().size() == 0; }, 10 * kSecond));
  ASSERT_FALSE(w.oa.closed.empty());
}

}  // namespace
}  // namespace qc::channel
