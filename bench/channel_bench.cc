// Channel throughput and latency on loopback: relayed vs direct.
//
//   channel_bench [--mb=N] [--pings=P]
//
// All nodes live in this process on ONE thread and io_context (LoopbackNode: real neighbour
// sessions over UDP on 127.0.0.1, circuit::DataPlane, ChannelManager), so throughput figures
// compare total CPU cost per byte rather than a 3-process pipeline. Measured in one run:
//   1. session:  N MB on a bulk stream of a direct neighbour session A-B (the baseline)
//   2. direct:   N MB on a channel stream over a one-hop circuit A-B
//   3. relayed:  N MB on a channel stream over a circuit A-R-B
// and 64-byte ping-pong RTTs on channel streams over the direct and the relayed circuit. Prints
// MB/s (10^6 B/s, first write to FIN at the receiver), the ratio relayed / session (target
// >= 0.7), relayed / direct, and the RTT added by the relay hop (target < 0.2 ms).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "channel/testing/loopback_node.h"
#include "common/log.h"

namespace {

using namespace std::chrono_literals;
using qc::Bytes;
using qc::ByteView;
using qc::channel::testing::LoopbackNode;
using SteadyClock = std::chrono::steady_clock;

bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::seconds limit) {
  auto end = SteadyClock::now() + limit;
  while (SteadyClock::now() < end) {
    if (done()) return true;
    io.restart();
    io.run_for(2ms);
  }
  return done();
}

// Like run_until, but checks `done` after every handler (for latency).
bool run_each(asio::io_context& io, const std::function<bool()>& done, std::chrono::seconds limit) {
  auto end = SteadyClock::now() + limit;
  while (!done() && SteadyClock::now() < end) {
    io.restart();
    io.run_one_for(1ms);
  }
  return done();
}

struct Obs : qc::channel::ChannelObserver {
  void on_channel_ready(const qc::channel::NodeId&) override { ++ready; }
  void on_stream_data(const qc::channel::NodeId&, std::int64_t id, ByteView d, bool f) override {
    received += d.size();
    fin = fin || f;
    if (on_data) on_data(id, d);
  }
  void on_stream_writable(const qc::channel::NodeId&, std::int64_t) override {
    if (pump) pump();
  }
  int ready = 0;
  std::uint64_t received = 0;
  bool fin = false;
  std::function<void()> pump;
  std::function<void(std::int64_t, ByteView)> on_data;
};

struct Topology {
  explicit Topology(bool relayed) {
    ca = std::make_unique<qc::identity::CertAuthority>(
        qc::transport::testing::make_test_ca("bench ca"));
    a = std::make_unique<LoopbackNode>(io, qc::transport::testing::make_test_node(*ca, "a"), &oa);
    b = std::make_unique<LoopbackNode>(io, qc::transport::testing::make_test_node(*ca, "b"), &ob);
    if (relayed) {
      r = std::make_unique<LoopbackNode>(io, qc::transport::testing::make_test_node(*ca, "r"),
                                         nullptr);
      (void)a->mgr->dial(r->mgr->local_address(), r->id.node_id());
      (void)b->mgr->dial(r->mgr->local_address(), r->id.node_id());
    } else {
      (void)a->mgr->dial(b->mgr->local_address(), b->id.node_id());
    }
    auto room_ok = [](LoopbackNode& x, LoopbackNode& y) {
      auto* s = x.mgr->session_to(y.id.node_id());
      return s != nullptr && s->datagram_room() > 1300;
    };
    ok = run_until(
        io,
        [&] {
          return relayed ? room_ok(*a, *r) && room_ok(*r, *a) && room_ok(*b, *r) && room_ok(*r, *b)
                         : room_ok(*a, *b) && room_ok(*b, *a);
        },
        10s);
    if (!ok) return;
    auto now = LoopbackNode::now();
    if (relayed) {
      auto sa = a->mgr->session_to(r->id.node_id())->id();
      auto sb = b->mgr->session_to(r->id.node_id())->id();
      auto ra = r->mgr->session_to(a->id.node_id())->id();
      auto rb = r->mgr->session_to(b->id.node_id())->id();
      r->routes[{ra, 5}] = {rb, 300};
      r->routes[{rb, 300}] = {ra, 5};
      a->channels->on_circuit_up(b->id.node_id(), sa, 5, now);
      b->channels->on_circuit_up(a->id.node_id(), sb, 300, now);
    } else {
      a->channels->on_circuit_up(b->id.node_id(), a->mgr->session_to(b->id.node_id())->id(), 5,
                                 now);
      b->channels->on_circuit_up(a->id.node_id(), b->mgr->session_to(a->id.node_id())->id(), 5,
                                 now);
    }
    a->channels->open(b->id.node_id(), now);
    a->arm();
    b->arm();
    ok = run_until(
        io, [&] { return oa.ready > 0 && ob.ready > 0; }, 10s);
    if (ok) ch = a->channels->find(b->id.node_id());
    ok = ok && ch != nullptr;
  }

  // MB/s of `bytes` on one channel stream A -> B.
  double bulk(const Bytes& data) {
    auto sid = ch->open_stream();
    if (!sid) return 0;
    std::uint64_t sent = 0;
    bool done = false;
    oa.pump = [&] {
      while (!done) {
        std::size_t n = std::min<std::size_t>(64 * 1024, data.size() - sent);
        bool last = sent + n == data.size();
        auto w = ch->write_stream(*sid, ByteView(data.data() + sent, n), last);
        if (!w) return;
        sent += *w;
        if (*w < n) break;
        if (last) done = true;
      }
      a->schedule_flush();
    };
    auto start = SteadyClock::now();
    oa.pump();
    if (!run_until(
            io, [&] { return ob.fin; }, 300s))
      return 0;
    double s = std::chrono::duration<double>(SteadyClock::now() - start).count();
    return static_cast<double>(data.size()) / 1e6 / s;
  }

  // Median RTT in microseconds of `count` 64-byte pings on a channel stream (B echoes).
  double ping(int count) {
    auto sid = ch->open_stream();
    if (!sid) return 0;
    Bytes msg(64, 0x5a);
    qc::channel::Channel* back = b->channels->find(a->id.node_id());
    std::uint64_t got = 0;
    ob.on_data = [&](std::int64_t id, ByteView d) {
      (void)back->write_stream(id, d, false);
      b->schedule_flush();
    };
    oa.on_data = [&](std::int64_t, ByteView d) { got += d.size(); };
    std::vector<double> rtts;
    for (int i = 0; i < count; ++i) {
      std::uint64_t want = got + msg.size();
      auto t0 = SteadyClock::now();
      (void)ch->write_stream(*sid, msg, false);
      a->schedule_flush();
      if (!run_each(
              io, [&] { return got >= want; }, 5s))
        break;
      rtts.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    }
    if (rtts.empty()) return 0;
    std::nth_element(rtts.begin(), rtts.begin() + static_cast<std::ptrdiff_t>(rtts.size() / 2),
                     rtts.end());
    return rtts[rtts.size() / 2];
  }

  asio::io_context io;
  std::unique_ptr<qc::identity::CertAuthority> ca;
  Obs oa, ob;
  std::unique_ptr<LoopbackNode> a, b, r;
  qc::channel::Channel* ch = nullptr;
  bool ok = false;
};

// Baseline: a bulk stream on the direct neighbour session A-B (no channel, no circuit).
double session_bulk(const Bytes& data) {
  asio::io_context io;
  auto ca = qc::transport::testing::make_test_ca("bench ca");
  LoopbackNode a(io, qc::transport::testing::make_test_node(ca, "a"), nullptr);
  LoopbackNode b(io, qc::transport::testing::make_test_node(ca, "b"), nullptr);
  (void)a.mgr->dial(b.mgr->local_address(), b.id.node_id());
  if (!run_until(
          io, [&] { return a.mgr->session_to(b.id.node_id()) != nullptr; }, 10s))
    return 0;
  qc::link::Session* s = a.mgr->session_to(b.id.node_id());
  auto sid = s->open_stream();
  if (!sid) return 0;
  bool fin = false;
  b.on_session_stream = [&](qc::link::Session&, std::int64_t, ByteView, bool f) { fin = fin || f; };
  std::uint64_t sent = 0;
  bool done = false;
  auto pump = [&] {
    while (!done) {
      std::size_t n = std::min<std::size_t>(64 * 1024, data.size() - sent);
      bool last = sent + n == data.size();
      auto w = s->write_stream(*sid, ByteView(data.data() + sent, n), last);
      if (!w) return;
      sent += *w;
      if (*w < n) break;
      if (last) done = true;
    }
  };
  a.on_session_writable = [&](qc::link::Session&, std::int64_t) { pump(); };
  auto start = SteadyClock::now();
  pump();
  if (!run_until(
          io, [&] { return fin; }, 300s))
    return 0;
  double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return static_cast<double>(data.size()) / 1e6 / secs;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mb = 200;
  int pings = 2000;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--mb=", 5) == 0) mb = std::strtoull(argv[i] + 5, nullptr, 10);
    if (std::strncmp(argv[i], "--pings=", 8) == 0) pings = std::atoi(argv[i] + 8);
  }
  qc::log::set_level("warn");
  Bytes data(mb * 1000 * 1000);
  std::uint64_t x = 88172645463325252ull;
  for (auto& byte : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    byte = static_cast<std::uint8_t>(x);
  }
  double session = session_bulk(data);
  double direct = 0, relayed = 0, rtt_direct = 0, rtt_relayed = 0;
  {
    Topology t(false);
    if (!t.ok) return std::puts("direct channel did not open"), 1;
    direct = t.bulk(data);
    rtt_direct = t.ping(pings);
  }
  {
    Topology t(true);
    if (!t.ok) return std::puts("relayed channel did not open"), 1;
    relayed = t.bulk(data);
    rtt_relayed = t.ping(pings);
  }
  std::printf("bulk %llu MB, one thread for all nodes, loopback\n",
              static_cast<unsigned long long>(mb));
  std::printf("  session stream A-B (baseline):   %8.1f MB/s\n", session);
  std::printf("  channel over direct circuit A-B: %8.1f MB/s\n", direct);
  std::printf("  channel over circuit A-R-B:      %8.1f MB/s\n", relayed);
  std::printf("  ratio relayed / session: %.2f (target >= 0.7)\n",
              session > 0 ? relayed / session : 0);
  std::printf("  ratio relayed / direct channel: %.2f\n", direct > 0 ? relayed / direct : 0);
  std::printf("ping (64 B on a channel stream, median of %d)\n", pings);
  std::printf(
      "  direct circuit: %.1f us, relayed: %.1f us, added per relay hop: %.1f us "
      "(target < 200 us)\n",
      rtt_direct, rtt_relayed, rtt_relayed - rtt_direct);
  return 0;
}
