// Real sockets, real kernel: network namespaces joined by veth pairs (and a bridge), one Discovery
// per namespace, each on its own thread moved into its namespace with setns(2). Every node must
// hear each expected peer over IPv4 broadcast and IPv6 link-local multicast, on the right
// interface, and no other.
//
// Needs root (it creates namespaces) and skips without it. Namespaces are named
// "qct-d<role>-<pid>" and interfaces "qct-..." with the test's pid. They are deleted (and the veth
// pairs and bridge with them) by RAII, at exit, and, for a run that was killed, at the start of the
// next run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "discovery/discovery.h"

namespace qc::discovery {
namespace {

const std::string kPid = std::to_string(getpid());

int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Deletes namespaces "qct-d<role>-<pid>" of this process, or (only_dead) of processes now gone.
void remove_namespaces(bool only_dead) {
  FILE* f = popen("ip netns list 2>/dev/null", "r");
  if (!f) return;
  char line[256];
  std::set<std::string> victims;
  while (fgets(line, sizeof line, f)) {
    std::string name(line);
    name = name.substr(0, name.find_first_of(" \n"));
    if (name.rfind("qct-d", 0) != 0) continue;
    auto dash = name.find('-', 5);
    if (dash == std::string::npos) continue;
    long pid = std::strtol(name.c_str() + dash + 1, nullptr, 10);
    bool dead = pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
    if (pid == getpid() ? !only_dead : dead) victims.insert(name);
  }
  pclose(f);
  for (const auto& v : victims) sh("ip netns del " + v);
}

void remove_ours() {
  remove_namespaces(false);
}

// The namespaces of one test; all deleted on destruction.
class Lab {
 public:
  Lab() {
    remove_namespaces(/*only_dead=*/true);
    static bool registered = (std::atexit(remove_ours), true);
    (void)registered;
  }
  ~Lab() { remove_ours(); }
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  static std::string ns(const std::string& role) { return "qct-d" + role + "-" + kPid; }
  static std::string ifname(const std::string& tag) { return "qct-" + tag + kPid; }

  // Runs `cmd`; the first failure is kept in `error` and later commands are skipped.
  void run(const std::string& cmd) {
    if (error.empty() && sh(cmd) != 0) error = "setup failed: " + cmd;
  }
  void add_ns(const std::string& role) { run("ip netns add " + ns(role)); }
  // A veth pair: interface ifname(tag_a) in ns(a), ifname(tag_b) in ns(b), both up, with no
  // automatic IPv6 address (the test gives fixed ones, without duplicate address detection).
  void veth(const std::string& a, const std::string& tag_a, const std::string& b,
            const std::string& tag_b) {
    run("ip link add " + ifname(tag_a) + " netns " + ns(a) + " type veth peer name " +
        ifname(tag_b) + " netns " + ns(b));
    for (auto [n, t] : {std::pair{a, tag_a}, std::pair{b, tag_b}}) {
      run("ip -n " + ns(n) + " link set " + ifname(t) + " addrgenmode none");
      run("ip -n " + ns(n) + " link set " + ifname(t) + " up");
    }
  }
  void addr(const std::string& role, const std::string& tag, const std::string& v4,
            const std::string& ll) {
    run("ip -n " + ns(role) + " addr add " + v4 + " broadcast + dev " + ifname(tag));
    run("ip -n " + ns(role) + " addr add " + ll + "/64 dev " + ifname(tag) + " nodad");
  }

  std::string error;
};

// What a node expects to hear: peer partial id -> (interface name, peer IPv4, peer link-local).
struct Expect {
  std::string ifname, v4, v6;
  std::uint16_t port = 0;
};

struct Side {
  std::string ns;
  identity::PartialId me{};
  std::uint16_t quic_port = 0;
  std::map<identity::PartialId, Expect> expect;
  std::mutex mu;
  std::vector<BeaconHeard> heard;
  std::vector<Interface> interfaces;
  Counters counters;
  std::string error;
  std::atomic<bool> done{false};

  // Heard every expected peer over both families.
  bool complete() {
    std::lock_guard<std::mutex> l(mu);
    std::set<std::pair<identity::PartialId, bool>> got;
    for (const auto& h : heard) got.insert({h.partial, h.quic_endpoint.address().is_v4()});
    for (const auto& [p, e] : expect) {
      if (!got.count({p, true}) || !got.count({p, false})) return false;
    }
    return true;
  }
};

void run_side(Side& s, const std::vector<std::unique_ptr<Side>>& all,
              const identity::ClusterId& cluster, bool bind_to_device) {
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
  o.startup_interval = 100 * kMillisecond;
  o.rescan_interval = 1 * kSecond;
  o.filter.allow = {"qct-*"};
  o.seed = s.quic_port;
  o.bind_to_device = bind_to_device;
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
  // Keep beaconing until every node heard all it expects (or the deadline), so that a node that
  // finishes early still serves the others.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto all_done = [&] {
    for (const auto& x : all) {
      if (!x->done) return false;
    }
    return true;
  };
  while (std::chrono::steady_clock::now() < deadline && !all_done()) {
    io.run_for(std::chrono::milliseconds(50));
    if (s.complete()) s.done = true;
  }
  // A little longer, so that a stray beacon on a wrong interface would show up.
  io.run_for(std::chrono::milliseconds(300));
  s.interfaces = (*d)->interfaces();
  s.counters = (*d)->counters();
  s.done = true;
}

void run_all(std::vector<std::unique_ptr<Side>>& sides, bool bind_to_device) {
  identity::ClusterId cluster{};
  cluster.fill(0x42);
  std::vector<std::thread> threads;
  for (auto& s : sides) {
    threads.emplace_back([&, p = s.get()] { run_side(*p, sides, cluster, bind_to_device); });
  }
  for (auto& t : threads) t.join();
}

void check_side(Side& s) {
  SCOPED_TRACE("namespace " + s.ns);
  ASSERT_EQ(s.error, "");
  std::map<std::string, Interface> by_name;
  for (const auto& i : s.interfaces) by_name[i.name] = i;
  std::set<std::pair<identity::PartialId, bool>> got;
  for (const auto& h : s.heard) {
    auto e = s.expect.find(h.partial);
    ASSERT_NE(e, s.expect.end()) << "heard an unexpected node on " << h.interface_name;
    ASSERT_TRUE(by_name.count(e->second.ifname)) << e->second.ifname << " not in use";
    const Interface& itf = by_name[e->second.ifname];
    EXPECT_EQ(h.interface_name, itf.name);
    EXPECT_EQ(h.ifindex, itf.index);
    EXPECT_EQ(h.interface_id, itf.id);
    EXPECT_EQ(itf.id, interface_id(itf.name, itf.mac));
    EXPECT_EQ(h.quic_endpoint.port(), e->second.port);
    auto a = h.quic_endpoint.address();
    got.insert({h.partial, a.is_v4()});
    if (a.is_v4()) {
      EXPECT_EQ(a.to_string(), e->second.v4);
    } else {
      EXPECT_EQ(a.to_v6().scope_id(), itf.index);
      auto bare = a.to_v6();
      bare.scope_id(0);
      EXPECT_EQ(bare.to_string(), e->second.v6);
    }
  }
  for (const auto& [p, e] : s.expect) {
    EXPECT_TRUE(got.count({p, true})) << "no IPv4 beacon from the peer on " << e.ifname;
    EXPECT_TRUE(got.count({p, false})) << "no IPv6 beacon from the peer on " << e.ifname;
  }
  EXPECT_GT(s.counters.sent, 0u);
  EXPECT_GT(s.counters.own, 0u) << "own beacons loop back and are counted";
  EXPECT_EQ(s.counters.malformed, 0u);
}

std::unique_ptr<Side> side(const std::string& role, std::uint8_t id, std::uint16_t port) {
  auto s = std::make_unique<Side>();
  s->ns = Lab::ns(role);
  s->me.fill(id);
  s->quic_port = port;
  return s;
}

bool skip_reason(std::string& why) {
  if (geteuid() != 0) {
    why = "needs root (creates network namespaces)";
    return true;
  }
  if (sh("ip netns list") != 0) {
    why = "no `ip netns`";
    return true;
  }
  return false;
}

class DiscoveryNetns : public ::testing::TestWithParam<bool> {};

// Two namespaces, one veth pair.
TEST_P(DiscoveryNetns, PairHearsEachOther) {
  std::string why;
  if (skip_reason(why)) GTEST_SKIP() << why;
  Lab lab;
  lab.add_ns("a");
  lab.add_ns("b");
  lab.veth("a", "a", "b", "b");
  lab.addr("a", "a", "10.77.0.1/24", "fe80::a");
  lab.addr("b", "b", "10.77.0.2/24", "fe80::b");
  ASSERT_EQ(lab.error, "");
  std::vector<std::unique_ptr<Side>> sides;
  sides.push_back(side("a", 0xa1, 7001));
  sides.push_back(side("b", 0xb2, 7002));
  sides[0]->expect[sides[1]->me] = {Lab::ifname("a"), "10.77.0.2", "fe80::b", 7002};
  sides[1]->expect[sides[0]->me] = {Lab::ifname("b"), "10.77.0.1", "fe80::a", 7001};
  run_all(sides, GetParam());
  for (auto& s : sides) check_side(*s);
}

// Three namespaces on one LAN segment: a bridge in a fourth namespace.
TEST_P(DiscoveryNetns, ThreeOnABridgeHearEachOther) {
  std::string why;
  if (skip_reason(why)) GTEST_SKIP() << why;
  Lab lab;
  lab.add_ns("s");
  lab.run("ip -n " + Lab::ns("s") + " link add " + Lab::ifname("br") + " type bridge");
  lab.run("ip -n " + Lab::ns("s") + " link set " + Lab::ifname("br") + " up");
  const std::string roles[] = {"x", "y", "z"};
  std::vector<std::unique_ptr<Side>> sides;
  for (int i = 0; i < 3; ++i) {
    const std::string& r = roles[i];
    lab.add_ns(r);
    lab.veth(r, r, "s", "s" + r);
    lab.run("ip -n " + Lab::ns("s") + " link set " + Lab::ifname("s" + r) + " master " +
            Lab::ifname("br"));
    lab.addr(r, r, "10.78.0." + std::to_string(i + 1) + "/24", "fe80::" + std::to_string(i + 1));
    sides.push_back(
        side(r, static_cast<std::uint8_t>(0x10 + i), static_cast<std::uint16_t>(7100 + i)));
  }
  ASSERT_EQ(lab.error, "");
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i == j) continue;
      sides[i]->expect[sides[j]->me] = {Lab::ifname(roles[i]), "10.78.0." + std::to_string(j + 1),
                                        "fe80::" + std::to_string(j + 1),
                                        static_cast<std::uint16_t>(7100 + j)};
    }
  }
  run_all(sides, GetParam());
  for (auto& s : sides) check_side(*s);
}

// A node with two links (to b and to c): each peer is heard on its own link only, including when
// the sockets are not bound to their device and packet info must tell the links apart.
TEST_P(DiscoveryNetns, TwoLinksAreToldApart) {
  std::string why;
  if (skip_reason(why)) GTEST_SKIP() << why;
  Lab lab;
  for (auto r : {"a", "b", "c"}) lab.add_ns(r);
  lab.veth("a", "ab", "b", "ba");
  lab.veth("a", "ac", "c", "ca");
  lab.addr("a", "ab", "10.79.1.1/24", "fe80::a");
  lab.addr("b", "ba", "10.79.1.2/24", "fe80::b");
  lab.addr("a", "ac", "10.79.2.1/24", "fe80::a");  // the same link-local on both links is valid
  lab.addr("c", "ca", "10.79.2.3/24", "fe80::c");
  ASSERT_EQ(lab.error, "");
  std::vector<std::unique_ptr<Side>> sides;
  sides.push_back(side("a", 0xa1, 7201));
  sides.push_back(side("b", 0xb2, 7202));
  sides.push_back(side("c", 0xc3, 7203));
  sides[0]->expect[sides[1]->me] = {Lab::ifname("ab"), "10.79.1.2", "fe80::b", 7202};
  sides[0]->expect[sides[2]->me] = {Lab::ifname("ac"), "10.79.2.3", "fe80::c", 7203};
  sides[1]->expect[sides[0]->me] = {Lab::ifname("ba"), "10.79.1.1", "fe80::a", 7201};
  sides[2]->expect[sides[0]->me] = {Lab::ifname("ca"), "10.79.2.1", "fe80::a", 7201};
  run_all(sides, GetParam());
  for (auto& s : sides) check_side(*s);
  EXPECT_EQ(sides[0]->interfaces.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(BindToDevice, DiscoveryNetns, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("Bound") : std::string("PktInfo");
                         });

}  // namespace
}  // namespace qc::discovery
