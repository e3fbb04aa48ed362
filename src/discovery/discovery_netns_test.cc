// Real sockets, real kernel: two network namespaces joined by a veth pair, one Discovery in each
// (each on its own thread, moved into its namespace with setns). Each must hear the other, over
// IPv4 broadcast and IPv6 link-local multicast, on the right interface.
//
// Needs root (creating namespaces); skips without it. Names start with "qct-d" and carry the test's
// pid. The namespaces (and with them the veth pair) are deleted by RAII, at exit, and, for runs
// that were killed, at the start of the next run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "discovery/discovery.h"

namespace qc::discovery {
namespace {

int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Deletes namespaces named qct-da-<pid> / qct-db-<pid> whose test process is gone (or is us).
void remove_namespaces(bool only_dead) {
  FILE* f = popen("ip netns list 2>/dev/null", "r");
  if (!f) return;
  char line[256];
  std::set<std::string> victims;
  while (fgets(line, sizeof line, f)) {
    std::string name(line);
    name = name.substr(0, name.find_first_of(" \n"));
    if (name.rfind("qct-da-", 0) != 0 && name.rfind("qct-db-", 0) != 0) continue;
    long pid = std::strtol(name.c_str() + 7, nullptr, 10);
    bool dead = pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
    if (pid == getpid() || !only_dead || dead) victims.insert(name);
  }
  pclose(f);
  for (const auto& v : victims) sh("ip netns del " + v);
}

void remove_ours() {
  const std::string pid = std::to_string(getpid());
  sh("ip netns del qct-da-" + pid);
  sh("ip netns del qct-db-" + pid);
}

class NetnsPair {
 public:
  NetnsPair() {
    remove_namespaces(/*only_dead=*/true);
    std::atexit(remove_ours);
    const std::string pid = std::to_string(getpid());
    ns_a = "qct-da-" + pid;
    ns_b = "qct-db-" + pid;
    if_a = "qct-a" + pid;
    if_b = "qct-b" + pid;
    const std::string cmds[] = {
        "ip netns add " + ns_a,
        "ip netns add " + ns_b,
        "ip link add " + if_a + " netns " + ns_a + " type veth peer name " + if_b + " netns " +
            ns_b,
        "ip -n " + ns_a + " link set " + if_a + " addrgenmode none",
        "ip -n " + ns_b + " link set " + if_b + " addrgenmode none",
        "ip -n " + ns_a + " addr add 10.77.0.1/24 broadcast + dev " + if_a,
        "ip -n " + ns_b + " addr add 10.77.0.2/24 broadcast + dev " + if_b,
        "ip -n " + ns_a + " addr add fe80::a/64 dev " + if_a + " nodad",
        "ip -n " + ns_b + " addr add fe80::b/64 dev " + if_b + " nodad",
        "ip -n " + ns_a + " link set " + if_a + " up",
        "ip -n " + ns_b + " link set " + if_b + " up",
    };
    for (const auto& c : cmds) {
      if (sh(c) != 0) {
        error = "setup failed: " + c;
        return;
      }
    }
  }
  ~NetnsPair() { remove_ours(); }
  NetnsPair(const NetnsPair&) = delete;
  NetnsPair& operator=(const NetnsPair&) = delete;

  std::string ns_a, ns_b, if_a, if_b, error;
};

struct Side {
  std::string ns;
  identity::PartialId me{};
  std::uint16_t quic_port = 0;
  identity::PartialId peer{};
  std::mutex mu;
  std::vector<BeaconHeard> heard;
  std::vector<Interface> interfaces;
  Counters counters;
  std::string error;
  std::atomic<bool> done{false};

  bool heard_both_families() {
    std::lock_guard<std::mutex> l(mu);
    bool v4 = false, v6 = false;
    for (const auto& h : heard) {
      if (h.partial != peer) continue;
      (h.quic_endpoint.address().is_v4() ? v4 : v6) = true;
    }
    return v4 && v6;
  }
};

void run_side(Side& s, Side& other, const identity::ClusterId& cluster) {
  const std::string path = "/var/run/netns/" + s.ns;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    s.error = "setns " + path + ": " + std::strerror(errno);
    s.done = true;
    if (fd >= 0) close(fd);
    return;
  }
  close(fd);
  Options o;
  o.min_interval = 100 * kMillisecond;
  o.max_interval = 300 * kMillisecond;
  o.first_beacon_max_delay = 50 * kMillisecond;
  o.rescan_interval = 1 * kSecond;
  o.filter.allow = {"qct-*"};
  o.seed = s.quic_port;
  asio::io_context io;
  auto d = Discovery::create(io, o, {cluster, s.me, s.quic_port}, [&](const BeaconHeard& h) {
    std::lock_guard<std::mutex> l(s.mu);
    s.heard.push_back(h);
  });
  if (!d) {
    s.error = d.error().to_string();
    s.done = true;
    return;
  }
  (*d)->start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !(s.done && other.done)) {
    io.run_for(std::chrono::milliseconds(50));
    if (s.heard_both_families()) s.done = true;
  }
  s.interfaces = (*d)->interfaces();
  s.counters = (*d)->counters();
  s.done = true;
}

void check_side(Side& s, const std::string& ifname, const std::string& peer_v4,
                const std::string& peer_v6, std::uint16_t peer_port) {
  SCOPED_TRACE("namespace " + s.ns);
  ASSERT_EQ(s.error, "");
  ASSERT_EQ(s.interfaces.size(), 1u);
  const Interface& itf = s.interfaces[0];
  EXPECT_EQ(itf.name, ifname);
  EXPECT_EQ(itf.id, interface_id(itf.name, itf.mac));
  bool v4 = false, v6 = false;
  for (const auto& h : s.heard) {
    EXPECT_EQ(h.partial, s.peer);
    EXPECT_EQ(h.interface_name, ifname);
    EXPECT_EQ(h.ifindex, itf.index);
    EXPECT_EQ(h.interface_id, itf.id);
    EXPECT_EQ(h.quic_endpoint.port(), peer_port);
    auto a = h.quic_endpoint.address();
    if (a.is_v4()) {
      v4 = true;
      EXPECT_EQ(a.to_string(), peer_v4);
    } else {
      v6 = true;
      EXPECT_EQ(a.to_v6().scope_id(), itf.index);
      auto bare = a.to_v6();
      bare.scope_id(0);
      EXPECT_EQ(bare.to_string(), peer_v6);
    }
  }
  EXPECT_TRUE(v4) << "no IPv4 broadcast beacon heard";
  EXPECT_TRUE(v6) << "no IPv6 multicast beacon heard";
  EXPECT_GT(s.counters.sent, 0u);
  EXPECT_GT(s.counters.own, 0u) << "own beacons loop back and are counted";
  EXPECT_EQ(s.counters.malformed, 0u);
}

TEST(DiscoveryNetns, TwoNamespacesHearEachOther) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (creates network namespaces)";
  if (sh("ip netns list") != 0) GTEST_SKIP() << "no `ip netns`";
  NetnsPair net;
  ASSERT_EQ(net.error, "");

  identity::ClusterId cluster{};
  cluster.fill(0x42);
  Side a, b;
  a.ns = net.ns_a;
  b.ns = net.ns_b;
  a.me.fill(0xa1);
  b.me.fill(0xb2);
  a.peer = b.me;
  b.peer = a.me;
  a.quic_port = 7001;
  b.quic_port = 7002;
  std::thread ta([&] { run_side(a, b, cluster); });
  std::thread tb([&] { run_side(b, a, cluster); });
  ta.join();
  tb.join();
  check_side(a, net.if_a, "10.77.0.2", "fe80::b", 7002);
  check_side(b, net.if_b, "10.77.0.1", "fe80::a", 7001);
}

}  // namespace
}  // namespace qc::discovery
