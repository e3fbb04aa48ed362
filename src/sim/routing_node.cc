#include "sim/routing_node.h"

namespace qc::sim {

RoutingNode::RoutingNode(NodeIndex self, const std::vector<routing::NodeId>& ids,
                         std::unique_ptr<routing::Signer> signer,
                         std::unique_ptr<routing::KeyDirectory> keys, const routing::Config& config,
                         std::uint64_t seed, std::int64_t unix_offset)
    : self_(self),
      ids_(ids),
      signer_(std::move(signer)),
      keys_(std::move(keys)),
      random_(seed),
      router_(config, *signer_, *keys_, random_, unix_offset) {}

void RoutingNode::flush(Network& net) {
  routing::Outgoing out;
  while (router_.poll_transmit(out)) {
    auto bytes = std::make_shared<std::string>();
    out.message.SerializeToString(bytes.get());
    if (tap) tap->push_back(SentMessage{net.now(), self_, out.session, *bytes});
    Packet p;
    p.bytes = bytes->size();
    p.kind = static_cast<std::uint32_t>(out.message.body_case());
    p.reliable = true;
    p.payload = std::move(bytes);
    net.send(self_, out.session, std::move(p));
  }
  while (auto e = router_.poll_event()) events_.push_back(TimedEvent{net.now(), std::move(*e)});
}

void RoutingNode::on_link_up(Network& net, SessionId session, NodeIndex peer, InterfaceId iface,
                             Timestamp now) {
  router_.on_neighbour_up(session, ids_[peer], iface, now);
  flush(net);
}

void RoutingNode::on_link_down(Network& net, SessionId session, Timestamp now) {
  router_.on_neighbour_down(session, now);
  flush(net);
}

void RoutingNode::inject(Network& net, SessionId session, const std::string& bytes, Timestamp now) {
  routing::RoutingMessage m;
  if (!m.ParseFromString(bytes)) {
    ++parse_errors;
    return;
  }
  router_.on_message(session, m, now);
  flush(net);
}

void RoutingNode::on_packet(Network& net, SessionId session, const Packet& packet, Timestamp now) {
  inject(net, session, *static_cast<const std::string*>(packet.payload.get()), now);
}

void RoutingNode::on_timeout(Network& net, Timestamp now) {
  router_.handle_timeout(now);
  flush(net);
}

RoutingSim::RoutingSim(const Topology& topology, LinkParams base, const RoutingSimOptions& options)
    : registry_(options.seed * 7919 + 1), net_(options.seed) {
  ids_.reserve(topology.nodes);
  for (std::uint32_t i = 0; i < topology.nodes; ++i) ids_.push_back(registry_.add());
  build(topology, base, options, [&](NodeIndex i) {
    auto signer = std::make_unique<routing::testing::FakeSigner>(registry_, ids_[i]);
    auto keys = std::make_unique<routing::testing::FakeKeyDirectory>(registry_, ids_[i],
                                                                     options.know_all_keys);
    if (!options.know_all_keys) {
      // Neighbours always know each other (the session's TLS handshake showed the certificate).
      for (const Edge& e : topology.edges) {
        if (e.a == i) keys->introduce(ids_[e.b]);
        if (e.b == i) keys->introduce(ids_[e.a]);
      }
    }
    return std::make_pair(std::unique_ptr<routing::Signer>(std::move(signer)),
                          std::unique_ptr<routing::KeyDirectory>(std::move(keys)));
  });
}

RoutingSim::RoutingSim(const Topology& topology, LinkParams base, const RoutingSimOptions& options,
                       std::vector<routing::NodeId> ids, const CryptoFactory& crypto)
    : registry_(options.seed * 7919 + 1), ids_(std::move(ids)), net_(options.seed) {
  build(topology, base, options, crypto);
}

void RoutingSim::build(const Topology& topology, LinkParams base, const RoutingSimOptions& options,
                       const CryptoFactory& crypto) {
  routing::SeededRandom skew(options.seed ^ 0x5eed);
  const std::int64_t unix_base = 1'700'000'000LL * static_cast<std::int64_t>(kSecond);
  for (std::uint32_t i = 0; i < topology.nodes; ++i) {
    auto [signer, keys] = crypto(i);
    std::int64_t offset = unix_base;
    if (options.max_unix_skew > 0) {
      offset += static_cast<std::int64_t>(skew.next() % (2 * options.max_unix_skew + 1)) -
                static_cast<std::int64_t>(options.max_unix_skew);
    }
    auto node = std::make_unique<RoutingNode>(i, ids_, std::move(signer), std::move(keys),
                                              options.config, options.seed * 1000003 + i, offset);
    nodes_.push_back(node.get());
    net_.add_node(std::move(node));
  }
  for (const Edge& e : topology.edges) {
    LinkParams p = base;
    p.latency = e.latency;
    links_.push_back(net_.add_link(e.a, e.b, p, options.interface, options.interface));
  }
}

LinkId RoutingSim::add_link(NodeIndex a, NodeIndex b, LinkParams p, InterfaceId ia,
                            InterfaceId ib) {
  if (auto* ka = dynamic_cast<routing::testing::FakeKeyDirectory*>(&nodes_[a]->keys()))
    ka->introduce(ids_[b]);
  if (auto* kb = dynamic_cast<routing::testing::FakeKeyDirectory*>(&nodes_[b]->keys()))
    kb->introduce(ids_[a]);
  return net_.add_link(a, b, p, ia, ib);
}

}  // namespace qc::sim
