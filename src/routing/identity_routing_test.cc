// The routing core with real Ed25519 keys and X.509 chains (qc::identity) on a small topology:
// nodes know only their neighbours' certificates and learn the rest through PeerQuery.
#include <gtest/gtest.h>

#include <ctime>

#include "identity/cert_tool.h"
#include "routing/identity_crypto.h"
#include "sim/routing_node.h"

namespace qc::routing {
namespace {

std::int64_t wall_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

struct Pki {
  std::vector<identity::NodeCert> certs;
  std::vector<NodeId> ids;
  Bytes ca_der;
};

Pki make_pki(int n) {
  Pki p;
  auto ca = identity::make_ca({.name = "routing test CA"});
  EXPECT_TRUE(ca);
  auto ca_certs = identity::parse_pem_certs(ca->cert_pem);
  EXPECT_TRUE(ca_certs);
  p.ca_der = ca_certs->front();
  for (int i = 0; i < n; ++i) {
    auto c = identity::issue_node_cert(*ca, {.name = "node-" + std::to_string(i)});
    EXPECT_TRUE(c);
    p.ids.push_back(c->node_id);
    p.certs.push_back(std::move(*c));
  }
  return p;
}

std::vector<Bytes> chain_of(const identity::NodeCert& c) {
  auto v = identity::parse_pem_certs(c.cert_pem);
  return v ? *v : std::vector<Bytes>{};
}

TEST(IdentityRouting, ChainEncodingRoundTripsAndRejectsGarbage) {
  Pki p = make_pki(1);
  auto chain = chain_of(p.certs[0]);
  ASSERT_FALSE(chain.empty());
  Bytes enc = encode_chain(chain);
  auto dec = decode_chain(enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, chain);
  enc.pop_back();
  EXPECT_FALSE(decode_chain(enc));
  EXPECT_FALSE(decode_chain(Bytes{0x31, 0x00}));
  EXPECT_FALSE(decode_chain(Bytes{}));
}

TEST(IdentityRouting, DirectoryChecksChainsAgainstTheCa) {
  Pki p = make_pki(2);
  Pki other = make_pki(1);
  IdentityKeyDirectory dir(p.ca_der, wall_now);
  auto id = dir.add(chain_of(p.certs[0]));
  ASSERT_TRUE(id);
  EXPECT_EQ(*id, p.ids[0]);
  // A chain from another CA is refused; a chain for another partial id too.
  EXPECT_FALSE(dir.learn(partial_of(other.ids[0]), encode_chain(chain_of(other.certs[0]))));
  EXPECT_FALSE(dir.learn(partial_of(p.ids[0]), encode_chain(chain_of(p.certs[1]))));
  EXPECT_EQ(dir.find(partial_of(p.ids[1])), nullptr);
  auto v = dir.learn(partial_of(p.ids[1]), encode_chain(chain_of(p.certs[1])));
  ASSERT_TRUE(v);
  EXPECT_EQ((*v)->node_id(), p.ids[1]);
}

TEST(IdentityRouting, CircuitOverRealEd25519KeysWithPeerQuery) {
  // 0 - 1 - 2 - 3 - 4, and a spur 2 - 5.
  sim::Topology t = sim::line(5, 5 * kMillisecond);
  t.nodes = 6;
  t.edges.push_back({2, 5, 5 * kMillisecond});
  Pki p = make_pki(6);
  sim::RoutingSimOptions o;
  o.seed = 3;
  sim::RoutingSim s(t, sim::LinkParams{}, o, p.ids, [&](sim::NodeIndex i) {
    auto key = identity::PrivateKey::from_pem(p.certs[i].key_pem);
    EXPECT_TRUE(key);
    auto signer = std::make_unique<IdentitySigner>(*key);
    auto dir = std::make_unique<IdentityKeyDirectory>(p.ca_der, wall_now);
    EXPECT_TRUE(dir->add(chain_of(p.certs[i])));
    for (const sim::Edge& e : t.edges) {  // neighbours: known from the session handshake
      if (e.a == i) {
        EXPECT_TRUE(dir->add(chain_of(p.certs[e.b])));
      }
      if (e.b == i) {
        EXPECT_TRUE(dir->add(chain_of(p.certs[e.a])));
      }
    }
    return std::make_pair(std::unique_ptr<Signer>(std::move(signer)),
                          std::unique_ptr<KeyDirectory>(std::move(dir)));
  });
  ASSERT_TRUE(s.with(0, [&](Router& r, Timestamp now) { return r.send_probe(s.prefix(4), now); }));
  s.net().run_until(s.now() + 5 * kSecond);
  const CircuitUp* up = nullptr;
  for (const auto& te : s.node(0).events())
    if (auto* u = std::get_if<CircuitUp>(&te.event)) up = u;
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->remote, p.ids[4]);
  EXPECT_EQ(up->route.route().hops_size(), 4);
  EXPECT_EQ(up->route.signature().size(), 64u);  // Ed25519
  std::uint64_t queries = 0, learned = 0;
  for (sim::NodeIndex i = 0; i < 6; ++i) {
    queries += s.router(i).stats().peer_queries_sent;
    learned += s.router(i).stats().keys_learned;
    EXPECT_EQ(s.router(i).stats().drop_bad_signature, 0u);
  }
  EXPECT_GT(queries, 0u);
  EXPECT_GT(learned, 0u);
  // The destination names the originator by its full node id.
  bool dest_up = false;
  for (const auto& te : s.node(4).events())
    if (auto* u = std::get_if<CircuitUp>(&te.event)) dest_up |= u->remote == p.ids[0];
  EXPECT_TRUE(dest_up);
  // A forged hop (a real route, one signature byte flipped) is refused by the real verifier.
  Route r;
  r.set_originator(id_bytes(p.ids[0]));
  r.set_nonce(5);
  r.set_destination(id_bytes(partial_of(p.ids[4])));
  r.set_expiry_ms(0);
  IdentitySigner s0(*identity::PrivateKey::from_pem(p.certs[0].key_pem));
  HopFields f;
  f.partial = partial_of(p.ids[0]);
  f.forward_interface = 1;
  f.next = partial_of(p.ids[1]);
  ASSERT_TRUE(append_signed_hop(r, f, s0));
  IdentityKeyDirectory dir(p.ca_der, wall_now);
  ASSERT_TRUE(dir.add(chain_of(p.certs[0])));
  EXPECT_EQ(verify_route(r, dir, nullptr, nullptr), VerifyOutcome::kOk);
  std::string sig = r.hops(0).signature();
  sig[10] ^= 4;
  r.mutable_hops(0)->set_signature(sig);
  EXPECT_EQ(verify_route(r, dir, nullptr, nullptr), VerifyOutcome::kBadSignature);
}

}  // namespace
}  // namespace qc::routing
