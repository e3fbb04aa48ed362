#include "sim/network.h"

#include <gtest/gtest.h>

#include <string>

namespace qc::sim {
namespace {

// Records what happens to it; echoes packets back when asked.
class Probe final : public Node {
 public:
  struct Got {
    Timestamp at;
    SessionId session;
    std::size_t bytes;
  };
  void on_link_up(Network&, SessionId s, NodeIndex, InterfaceId, Timestamp) override {
    sessions.push_back(s);
  }
  void on_link_down(Network&, SessionId, Timestamp now) override { downs.push_back(now); }
  void on_packet(Network&, SessionId s, const Packet& p, Timestamp now) override {
    got.push_back({now, s, p.bytes});
  }
  void on_timeout(Network&, Timestamp now) override {
    timeouts.push_back(now);
    deadline = kNever;
  }
  Timestamp next_deadline() const override { return deadline; }
  std::vector<SessionId> sessions;
  std::vector<Got> got;
  std::vector<Timestamp> downs, timeouts;
  Timestamp deadline = kNever;
};

Packet packet(std::size_t bytes, bool reliable = true) {
  Packet p;
  p.payload = std::make_shared<std::string>(bytes, 'x');
  p.bytes = bytes;
  p.reliable = reliable;
  return p;
}

TEST(Network, LatencyBandwidthAndFifo) {
  Network net(1, 0);
  auto* a = new Probe;
  auto* b = new Probe;
  net.add_node(std::unique_ptr<Node>(a));
  net.add_node(std::unique_ptr<Node>(b));
  net.add_link(0, 1, LinkParams{10 * kMillisecond, 8e6, 0});  // 1 byte per microsecond
  ASSERT_EQ(a->sessions.size(), 1u);
  ASSERT_EQ(a->sessions[0], b->sessions[0]);
  net.send(0, a->sessions[0], packet(1000));
  net.send(0, a->sessions[0], packet(1000));
  net.run_until_quiet(kSecond);
  ASSERT_EQ(b->got.size(), 2u);
  EXPECT_EQ(b->got[0].at, 10 * kMillisecond + 1000 * kMicrosecond);
  EXPECT_EQ(b->got[1].at, 10 * kMillisecond + 2000 * kMicrosecond);  // queued behind the first
  EXPECT_EQ(net.stats().bytes, 2000u);
}

TEST(Network, LossDropsDatagramsAndDelaysReliable) {
  Network net(2, 0);
  auto* a = new Probe;
  auto* b = new Probe;
  net.add_node(std::unique_ptr<Node>(a));
  net.add_node(std::unique_ptr<Node>(b));
  net.add_link(0, 1, LinkParams{kMillisecond, 0, 0.5});
  for (int i = 0; i < 1000; ++i) net.send(0, a->sessions[0], packet(10, false));
  for (int i = 0; i < 1000; ++i) net.send(0, a->sessions[0], packet(10, true));
  net.run_until_quiet(10 * kSecond);
  EXPECT_GT(net.stats().lost, 400u);
  EXPECT_LT(net.stats().lost, 600u);
  EXPECT_EQ(b->got.size(), 2000u - net.stats().lost);
  std::size_t late = 0;
  for (const auto& g : b->got) late += g.at > kMillisecond;
  EXPECT_GT(late, 400u);  // retransmitted reliable packets arrive later
}

TEST(Network, LinkDownUpGivesNewSessionAndDropsInFlight) {
  Network net(3, 0);
  auto* a = new Probe;
  auto* b = new Probe;
  net.add_node(std::unique_ptr<Node>(a));
  net.add_node(std::unique_ptr<Node>(b));
  LinkId l = net.add_link(0, 1, LinkParams{10 * kMillisecond, 0, 0});
  net.send(0, a->sessions[0], packet(5));
  net.schedule_link(l, false, 5 * kMillisecond);
  net.schedule_link(l, true, 20 * kMillisecond);
  net.run_until(kSecond);
  EXPECT_TRUE(b->got.empty());
  EXPECT_EQ(net.stats().dropped_down, 1u);
  ASSERT_EQ(a->downs.size(), 1u);
  ASSERT_EQ(a->sessions.size(), 2u);
  EXPECT_NE(a->sessions[0], a->sessions[1]);
  net.send(0, a->sessions[0], packet(5));  // the old session is gone
  net.send(0, a->sessions[1], packet(5));
  net.run_until(2 * kSecond);
  EXPECT_EQ(b->got.size(), 1u);
}

TEST(Network, TimersFireAtTheirDeadlineAndFrozenNodesDoNothing) {
  Network net(4, 0);
  auto* a = new Probe;
  auto* b = new Probe;
  net.add_node(std::unique_ptr<Node>(a));
  net.add_node(std::unique_ptr<Node>(b));
  net.add_link(0, 1, LinkParams{});
  a->deadline = 3 * kSecond;
  net.wake(0);
  b->deadline = 3 * kSecond;
  net.wake(1);
  net.schedule_node_freeze(1, kSecond);
  net.run_until(10 * kSecond);
  ASSERT_EQ(a->timeouts.size(), 1u);
  EXPECT_EQ(a->timeouts[0], 3 * kSecond);
  EXPECT_TRUE(b->timeouts.empty());
  net.send(0, a->sessions[0], packet(5));
  net.run_until(11 * kSecond);
  EXPECT_TRUE(b->got.empty());
  EXPECT_TRUE(a->downs.empty());  // links of a frozen node stay up
}

TEST(Network, NodeDownTakesItsLinksDown) {
  Network net(5, 0);
  for (int i = 0; i < 3; ++i) net.add_node(std::make_unique<Probe>());
  net.add_link(0, 1, LinkParams{});
  net.add_link(1, 2, LinkParams{});
  net.schedule_node_down(1, kSecond);
  net.run_until(2 * kSecond);
  EXPECT_EQ(static_cast<Probe&>(net.node(0)).downs.size(), 1u);
  EXPECT_EQ(static_cast<Probe&>(net.node(2)).downs.size(), 1u);
  EXPECT_TRUE(static_cast<Probe&>(net.node(1)).downs.empty());
}

}  // namespace
}  // namespace qc::sim
