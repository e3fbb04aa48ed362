// A simulated node running the real routing core (qc::routing::Router) with fake crypto, and a
// harness that builds a whole network of them from a Topology.
//
// Messages cross the simulated links serialised (the protobuf wire bytes), so sizes and parsing
// are real. Every routing event is logged with its virtual time for tests and benchmarks.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "routing/router.h"
#include "routing/testing/fake_crypto.h"
#include "sim/network.h"
#include "sim/topology.h"

namespace qc::sim {

struct TimedEvent {
  Timestamp at;
  routing::Event event;
};

// One message as it was sent, for tests that inspect or tamper with traffic.
struct SentMessage {
  Timestamp at;
  NodeIndex from;
  SessionId session;
  std::string bytes;
};

class RoutingNode final : public Node {
 public:
  // `ids[i]` is node i's id (shared by all nodes of a simulation).
  RoutingNode(NodeIndex self, const std::vector<routing::NodeId>& ids,
              std::unique_ptr<routing::Signer> signer, std::unique_ptr<routing::KeyDirectory> keys,
              const routing::Config& config, std::uint64_t seed, std::int64_t unix_offset);

  void on_link_up(Network& net, SessionId session, NodeIndex peer, InterfaceId iface,
                  Timestamp now) override;
  void on_link_down(Network& net, SessionId session, Timestamp now) override;
  void on_packet(Network& net, SessionId session, const Packet& packet, Timestamp now) override;
  void on_timeout(Network& net, Timestamp now) override;
  Timestamp next_deadline() const override { return router_.next_deadline(); }

  routing::Router& router() { return router_; }
  routing::KeyDirectory& keys() { return *keys_; }
  const std::vector<TimedEvent>& events() const { return events_; }
  void clear_events() { events_.clear(); }
  // Sends out whatever the router queued (call after driving the router directly).
  void flush(Network& net);
  // Injects raw bytes as if received on `session` (for tests of hostile input).
  void inject(Network& net, SessionId session, const std::string& bytes, Timestamp now);
  // When set, every message this node sends is also appended here.
  std::vector<SentMessage>* tap = nullptr;
  std::uint64_t parse_errors = 0;

 private:
  NodeIndex self_;
  const std::vector<routing::NodeId>& ids_;
  std::unique_ptr<routing::Signer> signer_;
  std::unique_ptr<routing::KeyDirectory> keys_;
  routing::SeededRandom random_;
  routing::Router router_;
  std::vector<TimedEvent> events_;
};

struct RoutingSimOptions {
  routing::Config config;
  std::uint64_t seed = 1;
  bool know_all_keys = true;   // false: nodes know only neighbours; others via PeerQuery
  Duration max_unix_skew = 0;  // each node's unix clock is off by up to this (either way)
  InterfaceId interface = 1;   // interface id used on both ends of every link
};

// Makes node i's signer and key directory (for runs with real keys instead of the fake).
using CryptoFactory = std::function<
    std::pair<std::unique_ptr<routing::Signer>, std::unique_ptr<routing::KeyDirectory>>(NodeIndex)>;

class RoutingSim {
 public:
  // Fake crypto: ids and keys come from a registry seeded with options.seed.
  RoutingSim(const Topology& topology, LinkParams base, const RoutingSimOptions& options);
  // Caller's crypto: node i has id ids[i] and the signer and directory `crypto(i)` returns
  // (options.know_all_keys is then the factory's business).
  RoutingSim(const Topology& topology, LinkParams base, const RoutingSimOptions& options,
             std::vector<routing::NodeId> ids, const CryptoFactory& crypto);

  Network& net() { return net_; }
  std::size_t size() const { return nodes_.size(); }
  RoutingNode& node(NodeIndex i) { return *nodes_[i]; }
  routing::Router& router(NodeIndex i) { return nodes_[i]->router(); }
  const routing::NodeId& id(NodeIndex i) const { return ids_[i]; }
  routing::PeerPrefix prefix(NodeIndex i) const { return routing::PeerPrefix::of(ids_[i]); }
  LinkId link(std::size_t edge) const { return links_[edge]; }
  Timestamp now() const { return net_.now(); }
  // Runs `f(router, now)` on node i, then sends what it queued and re-reads its deadline.
  template <typename F>
  auto with(NodeIndex i, F f) {
    struct Flush {
      RoutingSim* sim;
      NodeIndex i;
      ~Flush() {
        sim->nodes_[i]->flush(sim->net_);
        sim->net_.wake(i);
      }
    } flush{this, i};
    return f(router(i), net_.now());
  }
  // Adds a link (an extra interface, for example) between two nodes at the current time.
  LinkId add_link(NodeIndex a, NodeIndex b, LinkParams p, InterfaceId ia, InterfaceId ib);
  routing::testing::FakeKeyRegistry& registry() { return registry_; }

 private:
  void build(const Topology& topology, LinkParams base, const RoutingSimOptions& options,
             const CryptoFactory& crypto);
  routing::testing::FakeKeyRegistry registry_;
  std::vector<routing::NodeId> ids_;
  Network net_;
  std::vector<RoutingNode*> nodes_;
  std::vector<LinkId> links_;
};

}  // namespace qc::sim
