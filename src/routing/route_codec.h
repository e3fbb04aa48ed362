// The signed byte layouts of routes (probe hops) and RouteEstablish, and their checks.
//
// Hop i signs: "qc-hop-v1" | originator(32) | nonce(8, LE) | len(destination)(1) | destination |
//   expiry_ms(8) | count(avoid)(1) | avoid ids (10 each) | for j < i: fields(j) | len(sig j)(2, LE)
//   | sig j | fields(i)
// where fields(h) = partial(10) | backward_if(4) | forward_if(4) | timestamp_ms(8) | next(10),
// integers little-endian. So a hop's signature covers the header, every earlier hop and its
// signature, and itself: no hop can be removed, reordered or inserted without breaking a
// signature or the next-partial chain.
//
// The destination signs: "qc-establish-v1" | the whole route as above with every signature |
//   destination_id(32) | backward_if(4) | timestamp_ms(8).
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_set>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"
#include "routing/crypto.h"
#include "routing/routing_pb.h"
#include "routing/siphash.h"
#include "routing/types.h"

namespace qc::routing {

constexpr std::size_t kMaxSignatureSize = 128;  // Ed25519 is 64; ECDSA P-256 DER up to 72
constexpr std::size_t kMaxAvoid = 16;           // partial ids in a probe's avoid list

struct HopFields {
  PartialId partial{};
  InterfaceId backward_interface = 0;
  InterfaceId forward_interface = 0;
  std::uint64_t timestamp_ms = 0;
  PartialId next{};
};

// Structural check of a route as received: id sizes, 1..max_hops hops, signature sizes,
// hops[0] is the originator's, each hop's next is the following hop, no node twice.
// kProtocol says what is wrong. Does not check signatures.
Result<void> check_route_structure(const Route& route, std::size_t max_hops);

// The partial ids of the route's hops, in order (route must have passed the structure check).
std::vector<PartialId> route_partials(const Route& route);

// Appends a hop with `fields`, signed by `signer`. False when signing failed.
bool append_signed_hop(Route& route, const HopFields& fields, Signer& signer);

// A bounded memory of (signed data, signature) pairs that verified, keyed by a keyed hash over
// both, so a prefix of a route seen before is not verified again. FIFO eviction.
class VerifiedCache {
 public:
  VerifiedCache(SipKey key, std::size_t capacity) : key_(key), capacity_(capacity) {}
  bool contains(std::uint64_t h) const { return set_.count(h) != 0; }
  void insert(std::uint64_t h);
  const SipKey& key() const { return key_; }
  std::size_t size() const { return set_.size(); }

 private:
  SipKey key_;
  std::size_t capacity_;
  std::unordered_set<std::uint64_t> set_;
  std::deque<std::uint64_t> order_;
};

enum class VerifyOutcome {
  kOk,
  kUnknownKey,    // some hop's key is not in the directory (ask with PeerQuery)
  kBadSignature,  // a signature does not verify
};

// Verifies hop i's signature alone with `verifier` (structure already checked).
bool verify_hop(const Route& route, int i, const Verifier& verifier);

// Verifies every hop's signature (structure already checked). On kUnknownKey, `unknown` lists
// the partial ids to query. `cache` may be null.
VerifyOutcome verify_route(const Route& route, KeyDirectory& keys, VerifiedCache* cache,
                           std::vector<PartialId>* unknown);

// The bytes the destination signs for a RouteEstablish (its `signature` field is ignored).
Bytes establish_signed_bytes(const RouteEstablish& est);

// A keyed hash of the last hop's signature: unique per probe copy (the signature covers all).
std::uint64_t copy_hash(const SipKey& key, const Route& route);
// A keyed hash of (originator, nonce): the probe id.
std::uint64_t probe_id_hash(const SipKey& key, const Route& route);

}  // namespace qc::routing
