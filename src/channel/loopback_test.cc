// Three nodes in one process on 127.0.0.1 with real neighbour sessions: A -> R -> B. R forwards
// circuit packets with its DataPlane; A and B run a channel and move 20 MB, hash-checked.
// Asio first, before any standard header, as in the transport sources: asio picks its handler
// allocator (aligned_alloc or operator new) from what the standard headers defined before it,
// and the inline functions must agree across translation units (ASan alloc-dealloc check).
#include "channel/testing/loopback_node.h"

#include <gtest/gtest.h>

#include <chrono>

namespace qc::channel {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackNode;

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

std::uint64_t fnv(std::uint64_t h, ByteView d) {
  for (std::uint8_t b : d) h = (h ^ b) * 0x100000001b3ull;
  return h;
}

struct Obs : ChannelObserver {
  void on_channel_ready(const NodeId&) override { ++ready; }
  void on_channel_closed(const NodeId&, const Error& e) override { closed.push_back(e); }
  void on_stream_data(const NodeId&, std::int64_t, ByteView d, bool f) override {
    hash = fnv(hash, d);
    received += d.size();
    fin = fin || f;
  }
  void on_stream_writable(const NodeId&, std::int64_t) override {
    if (pump) pump();
  }
  int ready = 0;
  std::vector<Error> closed;
  std::uint64_t received = 0, hash = 0xcbf29ce484222325ull;
  bool fin = false;
  std::function<void()> pump;
};

TEST(ChannelLoopbackTest, TwentyMegabytesThroughARelay) {
  asio::io_context io;
  auto ca = transport::testing::make_test_ca("loopback ca");
  Obs oa, ob;
  LoopbackNode a(io, transport::testing::make_test_node(ca, "a"), &oa);
  LoopbackNode r(io, transport::testing::make_test_node(ca, "r"), nullptr);
  LoopbackNode b(io, transport::testing::make_test_node(ca, "b"), &ob);
  auto ar = a.mgr->dial(r.mgr->local_address(), r.id.node_id());
  auto br = b.mgr->dial(r.mgr->local_address(), r.id.node_id());
  ASSERT_TRUE(ar && br);
  // Sessions up, and their DATAGRAM room past PMTUD (a channel needs >= 1203).
  ASSERT_TRUE(run_until(
      io,
      [&] {
        auto* s1 = a.mgr->session_to(r.id.node_id());
        auto* s2 = b.mgr->session_to(r.id.node_id());
        auto* s3 = r.mgr->session_to(a.id.node_id());
        auto* s4 = r.mgr->session_to(b.id.node_id());
        return s1 && s2 && s3 && s4 && s1->datagram_room() > 1300 && s2->datagram_room() > 1300 &&
               s3->datagram_room() > 1300 && s4->datagram_room() > 1300;
      },
      10s));
  circuit::SessionId sa = a.mgr->session_to(r.id.node_id())->id();
  circuit::SessionId sb = b.mgr->session_to(r.id.node_id())->id();
  circuit::SessionId ra = r.mgr->session_to(a.id.node_id())->id();
  circuit::SessionId rb = r.mgr->session_to(b.id.node_id())->id();
  r.routes[{ra, 5}] = {rb, 300};
  r.routes[{rb, 300}] = {ra, 5};
  a.channels->on_circuit_up(b.id.node_id(), sa, 5, LoopbackNode::now());
  b.channels->on_circuit_up(a.id.node_id(), sb, 300, LoopbackNode::now());

  a.channels->open(b.id.node_id(), LoopbackNode::now());
  a.arm();
  ASSERT_TRUE(run_until(
      io, [&] { return oa.ready > 0 && ob.ready > 0; }, 10s));
  Channel* ch = a.channels->find(b.id.node_id());
  ASSERT_NE(ch, nullptr);
  auto sid = ch->open_stream();
  ASSERT_TRUE(sid);

  const std::uint64_t total = 20u << 20;
  Bytes data(total);
  std::uint64_t x = 88172645463325252ull;
  for (auto& byte : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    byte = static_cast<std::uint8_t>(x);
  }
  const std::uint64_t hash = fnv(0xcbf29ce484222325ull, data);
  std::uint64_t sent = 0;
  bool done = false;
  oa.pump = [&] {
    while (!done) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(64 * 1024, total - sent));
      bool last = sent + n == total;
      auto w = ch->write_stream(*sid, ByteView(data.data() + sent, n), last);
      ASSERT_TRUE(w);
      sent += *w;
      if (*w < n) break;
      if (last) done = true;
    }
    a.schedule_flush();
  };
  oa.pump();
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(
      io, [&] { return ob.fin; }, 60s));
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("loopback relay: %.1f MB in %.2f s = %.1f MB/s\n", total / 1e6, secs,
              total / 1e6 / secs);
  EXPECT_EQ(ob.received, total);
  EXPECT_EQ(ob.hash, hash);
  EXPECT_GT(r.dp.stats().forwarded, total / 1500);
  EXPECT_EQ(r.dp.stats().unknown_label, 0u);
}

}  // namespace
}  // namespace qc::channel
