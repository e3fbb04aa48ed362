// The crypto the routing core needs, as interfaces the embedder implements. The daemon wraps
// qc::identity keys and certificate chains (identity_crypto.h); tests and the simulator use the
// fast in-memory fake (testing/fake_crypto.h).
#pragma once

#include "common/bytes.h"
#include "common/result.h"
#include "routing/types.h"

namespace qc::routing {

// Signs with this node's private key. Not thread-safe unless the implementation says so.
class Signer {
 public:
  virtual ~Signer() = default;
  virtual const NodeId& node_id() const = 0;
  // Returns the signature over `data`; an empty result means signing failed (the core then
  // drops what it was building and counts it).
  virtual Bytes sign(ByteView data) = 0;
};

// Checks signatures of one node.
class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual const NodeId& node_id() const = 0;
  virtual bool verify(ByteView data, ByteView signature) const = 0;
};

// What this node knows about other nodes' keys (backed by the peer database in the daemon).
// Must include this node itself. Returned pointers stay valid for the directory's lifetime.
class KeyDirectory {
 public:
  virtual ~KeyDirectory() = default;
  // The verifier for `partial`, or nullptr when the node is unknown (the core then asks the
  // neighbour with a PeerQuery).
  virtual const Verifier* find(const PartialId& partial) = 0;
  // Learns a node from a PeerAnswer. `chain` is opaque to routing (the daemon's DER certificate
  // chain, checked against the CA). kVerify when the chain does not check out or does not
  // belong to `partial`.
  virtual Result<const Verifier*> learn(const PartialId& partial, ByteView chain) = 0;
  // The chain to put in a PeerAnswer for `partial`; empty when unknown.
  virtual Bytes chain_of(const PartialId& partial) = 0;
};

// Uniform random numbers for timers and nonces, injected so runs are reproducible.
class Random {
 public:
  virtual ~Random() = default;
  virtual std::uint64_t next() = 0;
  // Uniform in [lo, hi].
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    return hi <= lo ? lo : lo + next() % (hi - lo + 1);
  }
};

// splitmix64: small, seeded, good enough for timers and nonces (not for keys).
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() override {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t s_;
};

}  // namespace qc::routing
