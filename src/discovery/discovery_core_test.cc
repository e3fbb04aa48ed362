#include "discovery/discovery_core.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <functional>

#include "discovery/discovery.h"
#include "discovery/fake_lan.h"

namespace qc::discovery {
namespace {

using asio::ip::make_address;

identity::ClusterId cluster(std::uint8_t seed) {
  identity::ClusterId c{};
  c.fill(seed);
  return c;
}
identity::PartialId partial(std::uint8_t seed) {
  identity::PartialId p{};
  p.fill(seed);
  return p;
}

Interface itf(const std::string& name, std::uint32_t index, std::uint8_t host) {
  Interface i;
  i.name = name;
  i.index = index;
  i.mac = Bytes{2, 0, 0, 0, index > 255 ? std::uint8_t{0} : static_cast<std::uint8_t>(index), host};
  i.id = interface_id(i.name, i.mac);
  i.up = true;
  i.ipv4 = asio::ip::make_address_v4("10.9.0." + std::to_string(host));
  i.broadcast = asio::ip::make_address_v4("10.9.0.255");
  return i;
}

Options seeded(std::uint64_t seed) {
  Options o;
  o.seed = seed;
  return o;
}

// One simulated node: its interfaces, its port on the LAN, its core, what it heard.
struct Node {
  Node(FakeLan& lan, identity::ClusterId c, identity::PartialId p, Options o = {})
      : port(lan.port()),
        core(o, {c, p, 7420}, source, *port, [this](const BeaconHeard& h) { heard.push_back(h); }) {
  }
  FakeInterfaceSource source;
  std::unique_ptr<FakeLan::Port> port;
  DiscoveryCore core;
  std::vector<BeaconHeard> heard;
};

// Runs every node's timers up to `until` in time order, delivering after each step.
void run(FakeLan& lan, std::vector<Node*> nodes, Timestamp& now, Timestamp until) {
  while (true) {
    Timestamp next = kNever;
    for (auto* n : nodes) next = std::min(next, n->core.next_timeout());
    if (next > until) break;
    now = std::max(now, next);
    for (auto* n : nodes) n->core.handle_timeout(now);
    lan.deliver();
  }
  now = until;
}

TEST(DiscoveryCore, BeaconIntervalsAreRandomWithinBounds) {
  FakeLan lan;
  Options o;
  o.seed = 42;
  Node a(lan, cluster(1), partial(1), o);
  a.source.interfaces = {itf("eth0", 2, 1)};
  lan.attach("seg", *a.port, 2, make_address("10.9.0.1"));
  Timestamp now = kSecond;
  a.core.start(now);
  const Timestamp first = a.core.next_send(2);
  EXPECT_GE(first, now);
  EXPECT_LE(first, now + o.first_beacon_max_delay);

  std::vector<Timestamp> sends;
  Timestamp prev_next = first;
  for (int i = 0; i < 300; ++i) {
    now = a.core.next_timeout();
    std::size_t before = a.port->sends;
    a.core.handle_timeout(now);
    if (a.port->sends != before) {
      EXPECT_EQ(now, prev_next);
      sends.push_back(now);
    }
    prev_next = a.core.next_send(2);
    lan.deliver();
  }
  ASSERT_GT(sends.size(), 100u);
  // The first startup_beacons go about a second apart (StartupBeaconsComeFast); then [5, 15] s.
  for (std::size_t i = 1; i < o.startup_beacons; ++i) {
    EXPECT_GE(sends[i] - sends[i - 1], o.startup_interval / 2);
    EXPECT_LE(sends[i] - sends[i - 1], o.startup_interval * 3 / 2);
  }
  Duration lo = kNever, hi = 0, sum = 0;
  for (std::size_t i = o.startup_beacons; i < sends.size(); ++i) {
    Duration d = sends[i] - sends[i - 1];
    lo = std::min(lo, d);
    hi = std::max(hi, d);
    sum += d;
  }
  EXPECT_GE(lo, 5 * kSecond);
  EXPECT_LE(hi, 15 * kSecond);
  const Duration mean = sum / (sends.size() - o.startup_beacons);
  EXPECT_GT(mean, 8 * kSecond);
  EXPECT_LT(mean, 12 * kSecond);
  EXPECT_GT(hi - lo, 5 * kSecond);  // actually random, not fixed
  // Own beacons loop back and are counted, never reported.
  EXPECT_EQ(a.core.counters().own, sends.size());
  EXPECT_TRUE(a.heard.empty());
}

// A beacon whose send fails (a link just up: no usable IPv6 address during duplicate address
// detection) is retried about a second later, not a whole interval later; so a peer on the link
// hears us within seconds of the link working.
TEST(DiscoveryCore, FailedBeaconIsRetriedSoon) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(3));
  Node b(lan, cluster(1), partial(0xb), seeded(4));
  a.source.interfaces = {itf("eth0", 2, 1)};
  b.source.interfaces = {itf("eth0", 2, 2)};
  lan.attach("s", *a.port, 2, make_address("10.9.0.1"));
  lan.attach("s", *b.port, 2, make_address("10.9.0.2"));
  a.port->fail_send = {"eth0"};
  b.port->fail_send = {"eth0"};  // b stays silent: only a's beacons can reach the other
  Timestamp now = 0;
  a.core.start(now);
  b.core.start(now);
  run(lan, {&a, &b}, now, 2 * kSecond);
  EXPECT_GE(a.core.counters().send_errors, 2u) << "retried within 2 s";
  a.port->fail_send.clear();  // the address is usable now
  run(lan, {&a, &b}, now, 4 * kSecond);
  EXPECT_FALSE(b.heard.empty()) << "heard within 2 s of the link working";
}

// The first beacons on an interface come about a second apart, so one lost beacon at start
// does not cost a whole 5-15 s interval.
TEST(DiscoveryCore, StartupBeaconsComeFast) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(5));
  a.source.interfaces = {itf("eth0", 2, 1)};
  lan.attach("s", *a.port, 2, make_address("10.9.0.1"));
  Timestamp now = 0;
  a.core.start(now);
  std::vector<Timestamp> sends;
  while (sends.size() < 5) {
    now = a.core.next_timeout();
    std::size_t before = a.port->sends;
    a.core.handle_timeout(now);
    if (a.port->sends != before) sends.push_back(now);
    lan.deliver();
  }
  EXPECT_LE(sends[0], kSecond);
  EXPECT_LE(sends[2], 4 * kSecond) << "three beacons within 4 s";
  EXPECT_GE(sends[3] - sends[2], 5 * kSecond) << "then the normal interval";
  EXPECT_GE(sends[4] - sends[3], 5 * kSecond);
}

TEST(DiscoveryCore, SameSeedSameSchedule) {
  auto schedule = [](std::uint64_t seed) {
    FakeLan lan;
    Options o;
    o.seed = seed;
    Node a(lan, cluster(1), partial(1), o);
    a.source.interfaces = {itf("eth0", 2, 1)};
    a.core.start(0);
    std::vector<Timestamp> t;
    for (int i = 0; i < 20; ++i) {
      Timestamp now = a.core.next_timeout();
      a.core.handle_timeout(now);
      t.push_back(a.core.next_send(2));
    }
    return t;
  };
  EXPECT_EQ(schedule(7), schedule(7));
  EXPECT_NE(schedule(7), schedule(8));
}

TEST(DiscoveryCore, TwoNodesHearEachOtherAndIgnoreOtherClusters) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(1));
  Node b(lan, cluster(1), partial(0xb), seeded(2));
  Node x(lan, cluster(2), partial(0xc), seeded(3));  // another cluster on the LAN
  a.source.interfaces = {itf("eth0", 2, 1)};
  b.source.interfaces = {itf("eth0", 5, 2)};
  x.source.interfaces = {itf("eth0", 3, 3)};
  lan.attach("seg", *a.port, 2, make_address("10.9.0.1"));
  lan.attach("seg", *b.port, 5, make_address("10.9.0.2"));
  lan.attach("seg", *x.port, 3, make_address("10.9.0.3"));
  Timestamp now = 0;
  for (auto* n : {&a, &b, &x}) n->core.start(now);
  run(lan, {&a, &b, &x}, now, 20 * kSecond);

  ASSERT_FALSE(a.heard.empty());
  ASSERT_FALSE(b.heard.empty());
  for (const auto& h : a.heard) {
    EXPECT_EQ(h.partial, partial(0xb));
    EXPECT_EQ(h.quic_endpoint, asio::ip::udp::endpoint(make_address("10.9.0.2"), 7420));
    EXPECT_EQ(h.ifindex, 2u);
    EXPECT_EQ(h.interface_id, itf("eth0", 2, 1).id);
    EXPECT_EQ(h.interface_name, "eth0");
  }
  EXPECT_EQ(b.heard.front().partial, partial(0xa));
  EXPECT_EQ(b.heard.front().ifindex, 5u);
  EXPECT_GT(a.core.counters().other_cluster, 0u);
  EXPECT_GT(a.core.counters().own, 0u);
  EXPECT_EQ(a.core.counters().heard, a.heard.size());
  EXPECT_TRUE(x.heard.empty());
  EXPECT_GT(x.core.counters().other_cluster, 0u);
}

TEST(DiscoveryCore, TwoLinksToOnePeerAreTwoReports) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(1));
  Node b(lan, cluster(1), partial(0xb), seeded(2));
  a.source.interfaces = {itf("eth0", 2, 1), itf("eth1", 3, 1)};
  b.source.interfaces = {itf("eth0", 2, 2), itf("eth1", 3, 2)};
  lan.attach("one", *a.port, 2, make_address("10.9.0.1"));
  lan.attach("one", *b.port, 2, make_address("10.9.0.2"));
  lan.attach("two", *a.port, 3, make_address("fe80::1"));
  lan.attach("two", *b.port, 3, make_address("fe80::2"));
  Timestamp now = 0;
  a.core.start(now);
  b.core.start(now);
  run(lan, {&a, &b}, now, 20 * kSecond);
  std::set<std::uint32_t> ids;
  for (const auto& h : a.heard) {
    ids.insert(h.interface_id);
    if (h.ifindex == 3) {
      // Link-local senders get the scope of the interface they were heard on.
      ASSERT_TRUE(h.quic_endpoint.address().is_v6());
      EXPECT_EQ(h.quic_endpoint.address().to_v6().scope_id(), 3u);
    }
  }
  EXPECT_EQ(ids, (std::set<std::uint32_t>{itf("eth0", 2, 1).id, itf("eth1", 3, 1).id}));
}

TEST(DiscoveryCore, MalformedAndUnknownInterfaceAreCounted) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(1));
  a.source.interfaces = {itf("eth0", 2, 1)};
  a.core.start(0);
  asio::ip::udp::endpoint from(make_address("10.9.0.7"), 7421);
  a.port->inject(Bytes{1, 2, 3}, from, 2);
  auto v2 = *encode_beacon(make_beacon(cluster(1), partial(3), 1));
  v2[3] = 2;
  a.port->inject(v2, from, 2);
  a.core.handle_datagram(*encode_beacon(make_beacon(cluster(1), partial(3), 1)), from, 99);
  EXPECT_EQ(a.core.counters().malformed, 2u);
  EXPECT_EQ(a.core.counters().unknown_interface, 1u);
  EXPECT_EQ(a.core.counters().received, 3u);
  EXPECT_TRUE(a.heard.empty());
  a.port->inject(*encode_beacon(make_beacon(cluster(1), partial(3), 9)), from, 2);
  ASSERT_EQ(a.heard.size(), 1u);
  EXPECT_EQ(a.heard[0].quic_endpoint.port(), 9);
}

TEST(DiscoveryCore, RescanAddsRemovesAndRetriesInterfaces) {
  FakeLan lan;
  Options o;
  o.seed = 5;
  o.filter.deny = {"docker*"};
  Node a(lan, cluster(1), partial(0xa), o);
  a.source.interfaces = {itf("eth0", 2, 1), itf("docker0", 4, 1)};
  a.port->fail_open = {"eth1"};
  Timestamp now = 0;
  a.core.start(now);
  EXPECT_EQ(a.core.interfaces().size(), 1u);  // docker0 denied
  EXPECT_TRUE(a.port->is_open(2));
  EXPECT_FALSE(a.port->is_open(4));

  a.source.interfaces.push_back(itf("eth1", 3, 1));  // appears later, cannot be opened yet
  run(lan, {&a}, now, 10 * kSecond);
  EXPECT_EQ(a.core.counters().open_errors, 1u);
  EXPECT_EQ(a.core.next_send(3), kNever);
  a.port->fail_open.clear();
  run(lan, {&a}, now, 20 * kSecond);
  EXPECT_TRUE(a.port->is_open(3));
  EXPECT_LE(a.core.next_send(3), now + o.first_beacon_max_delay);

  // An address change re-opens without resetting the schedule; a vanished interface is closed.
  const Timestamp planned = a.core.next_send(2);
  std::size_t opens = a.port->opens;
  a.source.interfaces[0].broadcast = asio::ip::make_address_v4("10.9.255.255");
  a.source.interfaces.pop_back();
  run(lan, {&a}, now, 30 * kSecond);
  EXPECT_EQ(a.port->opens, opens + 1);
  EXPECT_FALSE(a.port->is_open(3));
  EXPECT_EQ(a.core.interfaces().size(), 1u);
  if (planned > 30 * kSecond) {
    EXPECT_EQ(a.core.next_send(2), planned);
  }

  // A failing listing keeps the interfaces in use.
  a.source.error = Error{Errc::kIo, "netlink down"};
  run(lan, {&a}, now, 40 * kSecond);
  EXPECT_GE(a.core.counters().list_errors, 1u);
  EXPECT_TRUE(a.port->is_open(2));

  a.core.stop();
  EXPECT_FALSE(a.port->is_open(2));
  EXPECT_EQ(a.core.next_timeout(), kNever);
}

TEST(DiscoveryCore, QuicPortKnownLater) {
  FakeLan lan;
  Node a(lan, cluster(1), partial(0xa), seeded(1));
  Node b(lan, cluster(1), partial(0xb), seeded(2));
  a.source.interfaces = {itf("eth0", 2, 1)};
  b.source.interfaces = {itf("eth0", 2, 2)};
  lan.attach("s", *a.port, 2, make_address("10.9.0.1"));
  lan.attach("s", *b.port, 2, make_address("10.9.0.2"));
  b.core.set_quic_port(0);  // nothing to announce yet
  Timestamp now = 0;
  a.core.start(now);
  b.core.start(now);
  run(lan, {&a, &b}, now, 20 * kSecond);
  EXPECT_TRUE(a.heard.empty());
  b.core.set_quic_port(9999);
  run(lan, {&a, &b}, now, 40 * kSecond);
  ASSERT_FALSE(a.heard.empty());
  EXPECT_EQ(a.heard.back().quic_endpoint.port(), 9999);
}

// The Asio driver, on the fake LAN, with real (short) timers.
TEST(Discovery, DriverRunsTheCoreOnAnIoContext) {
  asio::io_context io;
  FakeLan lan;
  FakeInterfaceSource sa, sb;
  sa.interfaces = {itf("eth0", 2, 1)};
  sb.interfaces = {itf("eth0", 2, 2)};
  auto pa = lan.port(), pb = lan.port();
  lan.attach("s", *pa, 2, make_address("10.9.0.1"));
  lan.attach("s", *pb, 2, make_address("10.9.0.2"));
  Options o;
  o.min_interval = 5 * kMillisecond;
  o.max_interval = 15 * kMillisecond;
  o.first_beacon_max_delay = 2 * kMillisecond;
  o.startup_interval = 4 * kMillisecond;
  int a_heard = 0, b_heard = 0;
  Discovery a(io, o, {cluster(1), partial(0xa), 1}, sa, *pa, SystemClock::instance(),
              [&](const BeaconHeard&) { ++a_heard; });
  Discovery b(io, o, {cluster(1), partial(0xb), 2}, sb, *pb, SystemClock::instance(),
              [&](const BeaconHeard&) { ++b_heard; });
  a.start();
  b.start();
  asio::steady_timer pump(io);
  std::function<void()> tick = [&] {
    lan.deliver();
    pump.expires_after(std::chrono::milliseconds(2));
    pump.async_wait([&](const std::error_code& ec) {
      if (!ec) tick();
    });
  };
  tick();
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_GT(a_heard, 3);
  EXPECT_GT(b_heard, 3);
  EXPECT_GT(a.counters().sent, 10u);
  a.stop();
  EXPECT_TRUE(a.interfaces().empty());
}

TEST(Discovery, CreateRejectsABadGroup) {
  asio::io_context io;
  Options o;
  o.ipv6_group = "ff05::1";  // site scope
  EXPECT_EQ(Discovery::create(io, o, {}, nullptr).error().code, Errc::kInvalidArgument);
  o.ipv6_group = "nonsense";
  EXPECT_FALSE(Discovery::create(io, o, {}, nullptr));
  o.ipv6_group = kDefaultGroup;
  EXPECT_TRUE(Discovery::create(io, o, {}, nullptr));
}

}  // namespace
}  // namespace qc::discovery
