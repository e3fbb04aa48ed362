// Channel throughput and latency on loopback: relayed vs direct.
//
//   channel_bench [--mb=N] [--pings=P] [--runs=R] [--cpu-per-node=F] [--relayed-only]
//                 [--direct-only]
//
// The three bulk cases alternate R times (default 3); figures and ratios are medians.
//
// --relayed-only (--direct-only) runs the relayed (direct) channel bulk transfer alone and prints
// it (for a profiler). The node threads are named node-a, node-r and node-b, so
// `perf report --sort comm,sym` splits the profile per node.
//
// Every node runs on its own thread and io_context, as separate nodes would (LoopbackNode: real
// neighbour sessions over UDP on 127.0.0.1, circuit::DataPlane, ChannelManager). Measured in one
// run, each on fresh nodes:
//   1. session:  N MB on a bulk stream of a direct neighbour session A-B (the baseline)
//   2. direct:   N MB on a channel stream over a one-hop circuit A-B
//   3. relayed:  N MB on a channel stream over a circuit A-R-B
// and 64-byte ping-pong RTTs on channel streams over the direct and the relayed circuit. Prints
// MB/s (10^6 B/s, first write to FIN at the receiver), the ratios relayed / direct channel (what
// the relay hop costs; target >= 0.7) and relayed / session, and the RTT the relay hop adds
// (target < 0.2 ms).
// Note: three busy nodes share this machine's cores (2 here), so the relayed case is CPU-bound.
//
// --cpu-per-node=F (root; cgroup v1 cpu controller) runs each node's thread in a cgroup of its
// own with a CFS quota of F cores, as if every node had a machine of that size: with F = 0.66 on
// 2 cores, the relay's work comes out of the relay's own share in the relayed case instead of the
// endpoints', and every case gets the same CPU per node. The groups are removed at exit.
// Asio first, before any standard header, as in the transport sources: asio picks its handler
// allocator (aligned_alloc or operator new) from what the standard headers defined before it,
// and the inline functions must agree across translation units (ASan alloc-dealloc check).
#include "channel/testing/loopback_node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cerrno>
#include <fcntl.h>
#include <future>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <time.h>
#include <string>
#include <thread>
#include <vector>

#include "channel/testing/twin_network.h"
#include "common/log.h"

namespace {

using namespace std::chrono_literals;
using qc::Bytes;
using qc::ByteView;
using qc::channel::testing::LoopbackNode;
using SteadyClock = std::chrono::steady_clock;

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit) {
  auto end = SteadyClock::now() + limit;
  while (!done() && SteadyClock::now() < end) std::this_thread::sleep_for(200us);
  return done();
}

// --cpu-per-node: one cgroup (v1 cpu controller) per node name, each with a CFS quota of `share`
// cores. A node's thread joins its group itself when it starts (writing 0 to `tasks` moves the
// writing thread).
class CpuLimits {
 public:
  static constexpr const char* kRoot = "/sys/fs/cgroup/cpu";
  static constexpr long kPeriodUs = 3000;

  // nullptr (and the reason on stderr) when the groups cannot be made.
  static std::unique_ptr<CpuLimits> create(double share) {
    long quota = static_cast<long>(share * kPeriodUs);
    if (quota < 1000) {
      std::fprintf(stderr, "--cpu-per-node: %.2f is below the smallest CFS quota (%.2f of a core)\n",
                   share, 1000.0 / kPeriodUs);
      return nullptr;
    }
    std::unique_ptr<CpuLimits> l(new CpuLimits);
    for (const char* name : {"node-a", "node-r", "node-b"}) {
      std::string dir = std::string(kRoot) + "/qc-bench-" + std::to_string(getpid()) + "-" + name;
      if (mkdir(dir.c_str(), 0755) != 0) {
        std::fprintf(stderr,
                     "--cpu-per-node: cannot create %s: %s (needs root and the cgroup v1 cpu "
                     "controller mounted at %s)\n",
                     dir.c_str(), std::strerror(errno), kRoot);
        return nullptr;
      }
      l->dirs_.push_back(dir);
      if (!write(dir + "/cpu.cfs_period_us", std::to_string(kPeriodUs)) ||
          !write(dir + "/cpu.cfs_quota_us", std::to_string(quota))) {
        std::fprintf(stderr, "--cpu-per-node: cannot set the quota in %s: %s\n", dir.c_str(),
                     std::strerror(errno));
        return nullptr;
      }
    }
    return l;
  }
  // Called on the node's own thread.
  void join(const std::string& node) {
    for (const std::string& d : dirs_) {
      if (d.ends_with("-" + node) && !write(d + "/tasks", "0"))
        std::fprintf(stderr, "--cpu-per-node: %s could not join %s: %s\n", node.c_str(), d.c_str(),
                     std::strerror(errno));
    }
  }
  // The node threads have ended by now, so the groups are empty.
  ~CpuLimits() {
    for (const std::string& d : dirs_) rmdir(d.c_str());
  }

 private:
  CpuLimits() = default;
  static bool write(const std::string& path, const std::string& value) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
    ::close(fd);
    return ok;
  }
  std::vector<std::string> dirs_;
};
CpuLimits* g_cpu_limits = nullptr;

struct Obs : qc::channel::ChannelObserver {
  void on_channel_ready(const qc::channel::NodeId&) override { ++ready; }
  void on_stream_data(const qc::channel::NodeId&, std::int64_t id, ByteView d, bool f) override {
    if (f) fin = true;
    if (on_data) on_data(id, d);
  }
  void on_stream_writable(const qc::channel::NodeId&, std::int64_t) override {
    if (pump) pump();
  }
  std::atomic<int> ready{0};
  std::atomic<bool> fin{false};
  std::function<void()> pump;
  std::function<void(std::int64_t, ByteView)> on_data;
};

// One node on its own thread.
struct Host {
  Host(const qc::transport::testing::TestNode& t, Obs* obs, const char* name)
      : guard(asio::make_work_guard(io)), node(std::make_unique<LoopbackNode>(io, t, obs)) {
    thread = std::thread([this, n = std::string(name)] {
      if (g_cpu_limits != nullptr) g_cpu_limits->join(n);
      io.run();
    });
    pthread_setname_np(thread.native_handle(), name);
  }
  ~Host() {
    guard.reset();
    io.stop();
    thread.join();
    node.reset();
  }
  // CPU seconds the node's thread has used so far.
  double cpu() {
    clockid_t c;
    timespec ts{};
    if (pthread_getcpuclockid(thread.native_handle(), &c) != 0 || clock_gettime(c, &ts) != 0)
      return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }
  // Runs `fn` on the node's thread and waits for it.
  template <typename F>
  auto call(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto f = task.get_future();
    asio::post(io, [&task] { task(); });
    return f.get();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::unique_ptr<LoopbackNode> node;
  std::thread thread;
};

// One bulk run: throughput and each node's CPU seconds per GB (10^9 B) moved.
struct Bulk {
  double mbps = 0;
  double cpu_a = 0, cpu_r = 0, cpu_b = 0;  // CPU s/GB; cpu_r is 0 without a relay
  double cpu_sum() const { return cpu_a + cpu_r + cpu_b; }
  double cpu_max() const { return std::max({cpu_a, cpu_r, cpu_b}); }
};

// Measures CPU time of the given hosts over a run.
struct CpuMeter {
  explicit CpuMeter(std::vector<Host*> hosts) : hosts_(std::move(hosts)) {
    for (Host* h : hosts_) start_.push_back(h ? h->cpu() : 0);
  }
  // CPU s/GB of host i for `bytes` moved.
  double per_gb(std::size_t i, std::uint64_t bytes) const {
    if (!hosts_[i]) return 0;
    return (hosts_[i]->cpu() - start_[i]) / (static_cast<double>(bytes) / 1e9);
  }
  std::vector<Host*> hosts_;
  std::vector<double> start_;
};

bool room_ok(Host& x, Host& y) {
  auto peer = y.node->id.node_id();
  return x.call([&] {
    auto* s = x.node->mgr->session_to(peer);
    return s != nullptr && s->datagram_room() > 1300;
  });
}

qc::circuit::SessionId session_id(Host& x, Host& y) {
  auto peer = y.node->id.node_id();
  return x.call([&] { return x.node->mgr->session_to(peer)->id(); });
}

struct Topology {
  Topology(const qc::identity::CertAuthority& ca, bool relayed) {
    a = std::make_unique<Host>(qc::transport::testing::make_test_node(ca, "a"), &oa, "node-a");
    b = std::make_unique<Host>(qc::transport::testing::make_test_node(ca, "b"), &ob, "node-b");
    auto bid = b->node->id.node_id(), aid = a->node->id.node_id();
    if (relayed) {
      r = std::make_unique<Host>(qc::transport::testing::make_test_node(ca, "r"), nullptr,
                                 "node-r");
      auto raddr = r->node->mgr->local_address();
      auto rid = r->node->id.node_id();
      a->call([&] { (void)a->node->mgr->dial(raddr, rid); });
      b->call([&] { (void)b->node->mgr->dial(raddr, rid); });
      ok = wait_for(
          [&] { return room_ok(*a, *r) && room_ok(*r, *a) && room_ok(*b, *r) && room_ok(*r, *b); },
          10s);
    } else {
      auto baddr = b->node->mgr->local_address();
      a->call([&] { (void)a->node->mgr->dial(baddr, bid); });
      ok = wait_for([&] { return room_ok(*a, *b) && room_ok(*b, *a); }, 10s);
    }
    if (!ok) return;
    if (relayed) {
      auto sa = session_id(*a, *r), sb = session_id(*b, *r);
      auto ra = session_id(*r, *a), rb = session_id(*r, *b);
      r->call([&] {
        r->node->routes[{ra, 5}] = {rb, 300};
        r->node->routes[{rb, 300}] = {ra, 5};
      });
      a->call([&] { a->node->channels->on_circuit_up(bid, sa, 5, LoopbackNode::now()); });
      b->call([&] { b->node->channels->on_circuit_up(aid, sb, 300, LoopbackNode::now()); });
    } else {
      auto sa = session_id(*a, *b), sb = session_id(*b, *a);
      a->call([&] { a->node->channels->on_circuit_up(bid, sa, 5, LoopbackNode::now()); });
      b->call([&] { b->node->channels->on_circuit_up(aid, sb, 5, LoopbackNode::now()); });
    }
    a->call([&] {
      a->node->channels->open(bid, LoopbackNode::now());
      a->node->arm();
    });
    b->call([&] { b->node->arm(); });
    ok = wait_for([&] { return oa.ready > 0 && ob.ready > 0; }, 10s);
  }

  // `data` on one channel stream A -> B.
  Bulk bulk(const Bytes& data) {
    auto bid = b->node->id.node_id();
    std::uint64_t sent = 0;
    bool done = false;
    std::int64_t sid = -1;
    qc::channel::Channel* ch = nullptr;
    oa.pump = [&] {
      while (!done) {
        std::size_t n = std::min<std::size_t>(64 * 1024, data.size() - sent);
        bool last = sent + n == data.size();
        auto w = ch->write_stream(sid, ByteView(data.data() + sent, n), last);
        if (!w) return;
        sent += *w;
        if (*w < n) break;
        if (last) done = true;
      }
      a->node->schedule_flush();
    };
    CpuMeter meter({a.get(), r.get(), b.get()});
    auto start = SteadyClock::now();
    bool opened = a->call([&] {
      ch = a->node->channels->find(bid);
      if (ch == nullptr) return false;
      auto s = ch->open_stream();
      if (!s) return false;
      sid = *s;
      oa.pump();
      return true;
    });
    if (!opened || !wait_for([&] { return ob.fin.load(); }, 300s)) return {};
    double s = std::chrono::duration<double>(SteadyClock::now() - start).count();
    return {static_cast<double>(data.size()) / 1e6 / s, meter.per_gb(0, data.size()),
            meter.per_gb(1, data.size()), meter.per_gb(2, data.size())};
  }

  // Median RTT in microseconds of `count` 64-byte pings on a channel stream (B echoes).
  double ping(int count) {
    auto aid = a->node->id.node_id(), bid = b->node->id.node_id();
    Bytes msg(64, 0x5a);
    std::vector<double> rtts;
    std::atomic<bool> finished{false};
    std::uint64_t got = 0;
    SteadyClock::time_point t0;
    std::int64_t sid = -1;
    qc::channel::Channel* ch = nullptr;
    ob.on_data = [&](std::int64_t id, ByteView d) {
      if (auto* back = b->node->channels->find(aid)) (void)back->write_stream(id, d, false);
      b->node->schedule_flush();
    };
    auto send_one = [&] {
      t0 = SteadyClock::now();
      (void)ch->write_stream(sid, msg, false);
      a->node->schedule_flush();
    };
    oa.on_data = [&](std::int64_t, ByteView d) {
      got += d.size();
      if (got < msg.size()) return;
      got -= msg.size();
      rtts.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
      if (static_cast<int>(rtts.size()) >= count) {
        finished = true;
        return;
      }
      send_one();
    };
    bool opened = a->call([&] {
      ch = a->node->channels->find(bid);
      if (ch == nullptr) return false;
      auto s = ch->open_stream();
      if (!s) return false;
      sid = *s;
      send_one();
      return true;
    });
    if (!opened || !wait_for([&] { return finished.load(); }, 60s)) return 0;
    std::nth_element(rtts.begin(), rtts.begin() + static_cast<std::ptrdiff_t>(rtts.size() / 2),
                     rtts.end());
    return rtts[rtts.size() / 2];
  }

  Obs oa, ob;
  std::unique_ptr<Host> a, b, r;
  bool ok = false;
};

// Baseline: a bulk stream on the direct neighbour session A-B (no channel, no circuit).
Bulk session_bulk(const qc::identity::CertAuthority& ca, const Bytes& data) {
  Host a(qc::transport::testing::make_test_node(ca, "a"), nullptr, "node-a");
  Host b(qc::transport::testing::make_test_node(ca, "b"), nullptr, "node-b");
  auto bid = b.node->id.node_id();
  auto baddr = b.node->mgr->local_address();
  a.call([&] { (void)a.node->mgr->dial(baddr, bid); });
  if (!wait_for([&] { return a.call([&] { return a.node->mgr->session_to(bid) != nullptr; }); },
                10s)) {
    return {};
  }
  std::atomic<bool> fin{false};
  b.call([&] {
    b.node->on_session_stream = [&](qc::link::Session&, std::int64_t, ByteView, bool f) {
      if (f) fin = true;
    };
  });
  std::uint64_t sent = 0;
  bool done = false;
  std::int64_t sid = -1;
  qc::link::Session* s = nullptr;
  auto pump = [&] {
    while (!done) {
      std::size_t n = std::min<std::size_t>(64 * 1024, data.size() - sent);
      bool last = sent + n == data.size();
      auto w = s->write_stream(sid, ByteView(data.data() + sent, n), last);
      if (!w) return;
      sent += *w;
      if (*w < n) break;
      if (last) done = true;
    }
  };
  CpuMeter meter({&a, nullptr, &b});
  auto start = SteadyClock::now();
  bool opened = a.call([&] {
    s = a.node->mgr->session_to(bid);
    auto id = s->open_stream();
    if (!id) return false;
    sid = *id;
    a.node->on_session_writable = [&](qc::link::Session&, std::int64_t) { pump(); };
    pump();
    return true;
  });
  if (!opened || !wait_for([&] { return fin.load(); }, 300s)) return {};
  double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  return {static_cast<double>(data.size()) / 1e6 / secs, meter.per_gb(0, data.size()), 0,
          meter.per_gb(2, data.size())};
}

// Relay queue sizing in virtual time (TwinNetwork): A -1 GB/s- R -0.25 GB/s- B, 2.5 ms one-way
// per hop (10 ms circuit RTT), so R's queue toward B fills. Returns MB/s and R's queue drops.
std::pair<double, std::uint64_t> relay_queue_run(const qc::identity::CertAuthority& ca,
                                                 std::size_t queue, std::uint64_t bytes) {
  using namespace qc::channel::testing;
  TwinNetwork net(3);
  auto ta = qc::transport::testing::make_test_node(ca, "qa");
  auto tb = qc::transport::testing::make_test_node(ca, "qb");
  int A = net.add_node(), B = net.add_node();
  int R = net.add_node(
      qc::circuit::DataPlaneConfig{.queue_limit = queue, .touch_interval = qc::kSecond});
  Obs oa, ob;
  for (auto [i, t, o] : {std::tuple{A, &ta, &oa}, std::tuple{B, &tb, &ob}}) {
    qc::channel::ChannelConfig c;
    c.self = t->node_id;
    c.tls = *qc::transport::TlsContext::create(t->creds);
    auto& n = *net.nodes[static_cast<std::size_t>(i)];
    n.mgr = std::make_unique<qc::channel::ChannelManager>(c, n.dp, *o);
    n.dp.set_receiver(n.mgr.get());
  }
  TwinLink fast, slow;
  fast.delay = slow.delay = 2500 * qc::kMicrosecond;
  slow.bytes_per_ns = 0.25;
  auto s1 = net.add_link(A, R, fast);
  auto s2 = net.add_link(R, B, slow);
  net.add_circuit({A, R, B}, {s1, s2}, {5, 300}, ta.node_id, tb.node_id);
  auto& ma = *net.nodes[static_cast<std::size_t>(A)]->mgr;
  ma.open(tb.node_id, net.now);
  if (!net.run([&] { return oa.ready > 0 && ob.ready > 0; }, 5 * qc::kSecond)) return {0, 0};
  auto* ch = ma.find(tb.node_id);
  auto sid = ch->open_stream();
  if (!sid) return {0, 0};
  Bytes chunk(64 * 1024, 0x33);
  std::uint64_t sent = 0;
  bool done = false;
  oa.pump = [&] {
    while (!done) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
      bool last = sent + n == bytes;
      auto w = ch->write_stream(*sid, ByteView(chunk.data(), n), last);
      if (!w) return;
      sent += *w;
      if (*w < n) break;
      if (last) done = true;
    }
  };
  oa.pump();
  qc::Timestamp start = net.now;
  if (!net.run([&] { return ob.fin.load(); }, 600 * qc::kSecond)) return {0, 0};
  double secs = static_cast<double>(net.now - start) / 1e9;
  return {static_cast<double>(bytes) / 1e6 / secs,
          net.nodes[static_cast<std::size_t>(R)]->dp.stats().queue_drops};
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t mb = 200;
  int pings = 2000;
  int runs = 3;
  bool relayed_only = false;
  bool direct_only = false;
  double cpu_per_node = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::puts(
          "usage: channel_bench [--mb=N] [--pings=P] [--runs=R] [--cpu-per-node=F] [--relayed-only]\n"
          "                     [--direct-only]\n"
          "Bulk throughput, CPU per byte and ping RTT on loopback: a neighbour session,\n"
          "a channel over a direct circuit, a channel through one relay; each case R times,\n"
          "alternating (medians).\n"
          "  --cpu-per-node=F  each node's thread limited to F cores (root, cgroup v1 cpu\n"
          "                    controller), as if every node had a machine of its own;\n"
          "                    0.66 shares 2 cores fairly between three nodes");
      return 0;
    }
    if (std::strcmp(argv[i], "--relayed-only") == 0) {
      relayed_only = true;
    } else if (std::strcmp(argv[i], "--direct-only") == 0) {
      direct_only = true;
    } else if (std::strncmp(argv[i], "--mb=", 5) == 0) {
      mb = std::strtoull(argv[i] + 5, nullptr, 10);
    } else if (std::strncmp(argv[i], "--pings=", 8) == 0) {
      pings = std::atoi(argv[i] + 8);
    } else if (std::strncmp(argv[i], "--runs=", 7) == 0) {
      runs = std::max(1, std::atoi(argv[i] + 7));
    } else if (std::strncmp(argv[i], "--cpu-per-node=", 15) == 0) {
      cpu_per_node = std::strtod(argv[i] + 15, nullptr);
    } else {
      std::fprintf(stderr, "channel_bench: unknown option %s (see --help)\n", argv[i]);
      return 2;
    }
  }
  std::unique_ptr<CpuLimits> limits;
  if (cpu_per_node > 0) {
    limits = CpuLimits::create(cpu_per_node);
    if (!limits) return 1;
    g_cpu_limits = limits.get();
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
  auto ca = qc::transport::testing::make_test_ca("bench ca");
  if (relayed_only || direct_only) {
    Topology t(ca, relayed_only);
    if (!t.ok) return std::puts("channel did not open"), 1;
    Bulk r = t.bulk(data);
    std::size_t packet = t.a->call([&] {
      auto* ch = t.a->node->channels->find(t.b->node->id.node_id());
      return ch ? ch->packet_size() : 0;
    });
    std::printf("%s: %.1f MB/s, CPU s/GB A %.2f R %.2f B %.2f (channel packets of %zu B)\n",
                relayed_only ? "relayed" : "direct", r.mbps, r.cpu_a, r.cpu_r, r.cpu_b, packet);
    // Packets that waited in a data plane push-back queue (the session's DATAGRAM queue was full).
    auto queued = [](Host* h) {
      return h ? h->call([h] { return h->node->dp.stats().queued; }) : 0;
    };
    std::printf("data plane queued packets: A %llu R %llu B %llu\n",
                static_cast<unsigned long long>(queued(t.a.get())),
                static_cast<unsigned long long>(queued(t.r.get())),
                static_cast<unsigned long long>(queued(t.b.get())));
    // Congestion state at the end: the channel at A, and A's session toward the next hop.
    auto cc_line = [](const char* what, const qc::transport::ConnectionStats& s) {
      std::printf("%s: cwnd %llu B, srtt %.0f us, min_rtt %.0f us\n", what,
                  static_cast<unsigned long long>(s.cwnd), static_cast<double>(s.smoothed_rtt) / 1e3,
                  static_cast<double>(s.min_rtt) / 1e3);
    };
    Host* next = relayed_only ? t.r.get() : t.b.get();
    auto [chs, ses] = t.a->call([&] {
      auto* ch = t.a->node->channels->find(t.b->node->id.node_id());
      auto* s = t.a->node->mgr->session_to(next->node->id.node_id());
      return std::pair{ch ? ch->stats() : qc::transport::ConnectionStats{},
                       s ? s->transport_stats() : qc::transport::ConnectionStats{}};
    });
    cc_line("channel at A", chs);
    cc_line("A's session to the next hop", ses);
    std::printf("A's session to the next hop: %llu DATAGRAMs, %llu anchors\n",
                static_cast<unsigned long long>(ses.datagrams_sent),
                static_cast<unsigned long long>(ses.datagram_anchors));
    // UDP datagrams per send call (GSO batching) and per receive call (GRO and recvmmsg).
    for (auto [name, h] :
         {std::pair{"A", t.a.get()}, std::pair{"R", t.r.get()}, std::pair{"B", t.b.get()}}) {
      if (h == nullptr) continue;
      auto c = h->call([h] { return h->node->mgr->endpoint().udp_counters(); });
      std::printf("%s: %llu send calls, %.1f datagrams each; %llu receive calls, %.1f each\n", name,
                  static_cast<unsigned long long>(c.send_calls),
                  static_cast<double>(c.datagrams_sent) /
                      static_cast<double>(std::max<std::uint64_t>(c.send_calls, 1)),
                  static_cast<unsigned long long>(c.recv_calls),
                  static_cast<double>(c.datagrams_received) /
                      static_cast<double>(std::max<std::uint64_t>(c.recv_calls, 1)));
    }
    return 0;
  }
  // The three cases alternate, `runs` times, each on fresh nodes: this machine is shared and
  // noisy, and the direct channel is bimodal (cubic's cap depends on an early min_rtt sample), so
  // the figures and ratios below are medians over the runs.
  std::vector<Bulk> session, direct, relayed;
  std::vector<double> rtt_direct, rtt_relayed;
  for (int run = 1; run <= runs; ++run) {
    session.push_back(session_bulk(ca, data));
    {
      Topology t(ca, false);
      if (!t.ok) return std::puts("direct channel did not open"), 1;
      direct.push_back(t.bulk(data));
      rtt_direct.push_back(t.ping(pings));
    }
    {
      Topology t(ca, true);
      if (!t.ok) return std::puts("relayed channel did not open"), 1;
      relayed.push_back(t.bulk(data));
      rtt_relayed.push_back(t.ping(pings));
    }
    std::fprintf(stderr, "run %d of %d: session %.1f, direct %.1f, relayed %.1f MB/s\n", run, runs,
                 session.back().mbps, direct.back().mbps, relayed.back().mbps);
  }
  std::printf("bulk %llu MB, one thread per node, loopback, %u cores; median of %d runs\n",
              static_cast<unsigned long long>(mb), std::thread::hardware_concurrency(), runs);
  if (cpu_per_node > 0)
    std::printf("each node limited to %.2f of a core (CFS quota, --cpu-per-node)\n", cpu_per_node);
  auto median = [](std::vector<double> v) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  auto field = [&](const std::vector<Bulk>& rs, double Bulk::*f) {
    std::vector<double> v;
    for (const Bulk& r : rs) v.push_back(r.*f);
    return median(v);
  };
  auto med = [&](const std::vector<Bulk>& rs) {
    return Bulk{field(rs, &Bulk::mbps), field(rs, &Bulk::cpu_a), field(rs, &Bulk::cpu_r),
                field(rs, &Bulk::cpu_b)};
  };
  auto each = [](const std::vector<Bulk>& rs) {
    std::string out;
    for (const Bulk& r : rs) out += (out.empty() ? "" : ", ") + std::to_string(int(r.mbps + 0.5));
    return out;
  };
  auto row = [&](const char* name, const std::vector<Bulk>& rs) {
    Bulk r = med(rs);
    std::printf("  %-32s %8.1f MB/s (runs: %s)   CPU s/GB: A %.2f", name, r.mbps, each(rs).c_str(),
                r.cpu_a);
    if (r.cpu_r > 0) std::printf(" R %.2f", r.cpu_r);
    std::printf(" B %.2f, all %.2f\n", r.cpu_b, r.cpu_sum());
  };
  row("session stream A-B (baseline):", session);
  row("channel over direct circuit A-B:", direct);
  row("channel over circuit A-R-B:", relayed);
  auto ratio = [](double num, double den) { return den > 0 ? num / den : 0; };
  // Ratios per run (each run's cases ran back to back), then their median.
  auto ratios = [&](const std::vector<Bulk>& num, const std::vector<Bulk>& den) {
    std::vector<double> v;
    std::string out;
    for (std::size_t i = 0; i < num.size(); ++i) {
      v.push_back(ratio(num[i].mbps, den[i].mbps));
      char b[16];
      std::snprintf(b, sizeof b, "%.2f", v.back());
      out += (out.empty() ? "" : ", ") + std::string(b);
    }
    return std::pair{median(v), out};
  };
  auto [rs, rs_each] = ratios(relayed, session);
  auto [rd, rd_each] = ratios(relayed, direct);
  // The relay hop's cost: the same channel transfer through a relay and over a direct neighbour
  // session (the issue's target). Against the session stream it also pays for the channel's own
  // QUIC layer, which the design puts on every circuit, direct or not.
  std::printf("  ratio relayed / direct channel (the relay hop): %.2f (runs: %s; target >= 0.7)\n",
              rd, rd_each.c_str());
  std::printf("  ratio relayed / session stream (relay hop and channel layer): %.2f (runs: %s)\n",
              rs, rs_each.c_str());
  if (cpu_per_node <= 0 && std::thread::hardware_concurrency() < 3)
    std::printf(
        "  (three nodes on %u cores: the relayed case has less CPU per node than the others;\n"
        "   --cpu-per-node=0.66 gives every node of every case the same share)\n",
        std::thread::hardware_concurrency());
  // Where the time goes: the relayed path does more work per byte (two QUIC layers at each end,
  // a decrypt and an encrypt at the relay). With all three nodes on this machine's cores the
  // ratio cannot pass the CPU ratio; on separate machines it is bounded by the busiest node.
  Bulk ms = med(session), mr = med(relayed), md = med(direct);
  std::printf("  CPU per byte, session / relayed: all nodes %.2f, busiest node %.2f\n",
              ratio(ms.cpu_sum(), mr.cpu_sum()), ratio(ms.cpu_max(), mr.cpu_max()));
  std::printf("  CPU per byte, direct channel / relayed: all nodes %.2f, busiest node %.2f\n",
              ratio(md.cpu_sum(), mr.cpu_sum()), ratio(md.cpu_max(), mr.cpu_max()));
  double pd = median(rtt_direct), pr = median(rtt_relayed);
  std::printf("ping (64 B on a channel stream, median of %d, median over runs)\n", pings);
  std::printf(
      "  direct circuit: %.1f us, relayed: %.1f us, added per relay hop: %.1f us "
      "(target < 200 us)\n",
      pd, pr, pr - pd);
  std::printf(
      "relay queue (virtual time, 10 ms circuit RTT, 250 MB/s bottleneck after the relay, "
      "%llu MB)\n",
      static_cast<unsigned long long>(std::min<std::uint64_t>(mb, 50)));
  for (std::size_t q : {16, 64, 256, 1024}) {
    auto [mbps, drops] = relay_queue_run(ca, q, std::min<std::uint64_t>(mb, 50) * 1000 * 1000);
    std::printf("  queue %4zu datagrams: %6.1f MB/s, %llu relay drops\n", q, mbps,
                static_cast<unsigned long long>(drops));
  }
  return 0;
}
