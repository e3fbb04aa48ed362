// libFuzzer target: arbitrary bytes as a RoutingMessage fed to a Router, plus mutated copies of a
// validly signed probe and CircuitInit so the verification paths are reached. Must never crash.
//
// Input: byte 0 selects the mode.
//   even: the rest is parsed as a RoutingMessage and delivered on a neighbour session;
//   odd:  a valid probe (or CircuitInit) is serialised, the rest of the input XORed into it as
//         (position, value) byte pairs, then parsed and delivered.
#include <cstddef>
#include <cstdint>
#include <string>

#include "routing/router.h"
#include "routing/testing/fake_crypto.h"

using namespace qc;
using namespace qc::routing;

namespace {

constexpr std::int64_t kUnix = 1'700'000'000LL * static_cast<std::int64_t>(kSecond);

struct World {
  testing::FakeKeyRegistry reg{42};
  NodeId a = reg.add(), b = reg.add(), c = reg.add(), d = reg.add();
};

// A route from a through `hops` more nodes (signed by each), addressed to d.
Route valid_route(World& w, Timestamp now, bool through_b) {
  Route r;
  r.set_originator(id_bytes(w.a));
  r.set_nonce(99);
  r.set_destination(id_bytes(partial_of(w.d)));
  r.set_expiry_ms(
      static_cast<std::uint64_t>(static_cast<std::int64_t>(now) + kUnix) / kMillisecond + 30000);
  testing::FakeSigner sa(w.reg, w.a);
  HopFields f;
  f.partial = partial_of(w.a);
  f.forward_interface = 1;
  f.next = partial_of(w.b);
  append_signed_hop(r, f, sa);
  if (through_b) {
    testing::FakeSigner sb(w.reg, w.b);
    f.partial = partial_of(w.b);
    f.backward_interface = 1;
    f.next = partial_of(w.d);
    append_signed_hop(r, f, sb);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  if (size == 0) return 0;
  Config cfg;
  testing::FakeSigner signer(w.reg, w.b);
  testing::FakeKeyDirectory keys(w.reg, w.b, (data[0] & 2) != 0);
  keys.introduce(w.a);
  SeededRandom rng(7);
  Router router(cfg, signer, keys, rng, kUnix);
  const Timestamp now = 10 * kSecond;
  // b (us) sits between a (session 1) and d (session 2), with c on another interface.
  router.on_neighbour_up(1, w.a, 1, now);
  router.on_neighbour_up(2, w.d, 1, now);
  router.on_neighbour_up(3, w.c, 2, now);

  std::string bytes;
  if ((data[0] & 1) == 0) {
    bytes.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  } else {
    RoutingMessage m;
    if (data[0] & 4) {
      *m.mutable_probe()->mutable_route() = valid_route(w, now, false);
      m.mutable_probe()->set_tag(5);
    } else {
      CircuitInit* init = m.mutable_circuit_init();
      init->set_label(partial_of(w.d) < partial_of(w.b) ? 100 : 9000);  // d's half
      init->set_circuit_id(1);
      RouteEstablish* est = init->mutable_establish();
      *est->mutable_route() = valid_route(w, now, true);
      est->set_backward_interface(1);
      est->set_destination_id(id_bytes(w.d));
      est->set_timestamp_ms(static_cast<std::uint64_t>(static_cast<std::int64_t>(now) + kUnix) /
                            kMillisecond);
      testing::FakeSigner sd(w.reg, w.d);
      Bytes sig = sd.sign(establish_signed_bytes(*est));
      est->set_signature(std::string(sig.begin(), sig.end()));
    }
    m.SerializeToString(&bytes);
    for (std::size_t i = 1; i + 1 < size; i += 2) {
      if (bytes.empty()) break;
      bytes[data[i] % bytes.size()] ^= static_cast<char>(data[i + 1]);
    }
  }
  RoutingMessage msg;
  if (!msg.ParseFromString(bytes)) return 0;
  // Probes come from a, CircuitInits from d (bit 3 swaps, to reach the wrong-neighbour checks).
  const bool from_d = msg.has_circuit_init() != ((data[0] & 8) != 0);
  router.on_message(from_d ? 2 : 1, msg, now);
  // Answer whatever it asked, then let every timer run out.
  Outgoing out;
  std::uint32_t relayed_label = 0;
  while (router.poll_transmit(out)) {
    if (out.message.has_circuit_init()) relayed_label = out.message.circuit_init().label();
    if (out.message.has_peer_query()) {
      RoutingMessage ans;
      ans.mutable_peer_answer()->set_query_id(out.message.peer_query().query_id());
      for (const auto& p : out.message.peer_query().partial_ids()) {
        PeerEntry* e = ans.mutable_peer_answer()->add_peers();
        e->set_partial_id(p);
        PartialId pid{};
        if (load_id(p, pid) && w.reg.node_of(pid))
          e->set_certificate_chain(id_bytes(*w.reg.node_of(pid)));
      }
      router.on_message(out.session, ans, now);
    }
  }
  // Confirm any circuit it set up, then let every timer run out.
  if (relayed_label != 0) {
    RoutingMessage e;
    e.mutable_circuit_established()->set_label(relayed_label);
    router.on_message(1, e, now);
    while (router.poll_transmit(out)) {
    }
  }
  router.handle_timeout(now + 1000 * kSecond);
  while (router.poll_transmit(out)) {
  }
  while (router.poll_event()) {
  }
  router.on_neighbour_down(1, now + 1001 * kSecond);
  return 0;
}
