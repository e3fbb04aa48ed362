// In-memory fake crypto for the simulator and unit tests ONLY: a "signature" is a keyed hash
// (SipHash) expanded to 64 bytes, checked by anyone who can read the shared registry of keys.
// It has the shape and the failure behaviour of the real thing (a wrong key, a changed byte or
// a forged signature fails), not its security.
#pragma once

#include <memory>
#include <unordered_map>

#include "routing/crypto.h"
#include "routing/siphash.h"

namespace qc::routing::testing {

// All nodes' keys, shared by the signers and directories of one test or simulation.
class FakeKeyRegistry {
 public:
  explicit FakeKeyRegistry(std::uint64_t seed) : rng_(seed) {}
  // A new node id with a fresh key.
  NodeId add();
  const SipKey* key_of(const PartialId& p) const;
  const NodeId* node_of(const PartialId& p) const;

 private:
  struct Entry {
    NodeId id;
    SipKey key;
  };
  SeededRandom rng_;
  std::unordered_map<PartialId, Entry, PartialIdHash> nodes_;
};

Bytes fake_sign(const SipKey& key, ByteView data);

class FakeSigner final : public Signer {
 public:
  FakeSigner(const FakeKeyRegistry& reg, const NodeId& id);
  const NodeId& node_id() const override { return id_; }
  Bytes sign(ByteView data) override;
  std::uint64_t signatures = 0;

 private:
  NodeId id_;
  SipKey key_{};
};

class FakeVerifier final : public Verifier {
 public:
  FakeVerifier(const NodeId& id, const SipKey& key) : id_(id), key_(key) {}
  const NodeId& node_id() const override { return id_; }
  bool verify(ByteView data, ByteView signature) const override;

 private:
  NodeId id_;
  SipKey key_;
};

// A node's view of the registry. With `know_all`, every registered node is known at once (a
// warm peer database); otherwise only `self` and nodes learned from a PeerAnswer, whose
// "certificate chain" is the 32-byte node id.
class FakeKeyDirectory final : public KeyDirectory {
 public:
  FakeKeyDirectory(const FakeKeyRegistry& reg, const NodeId& self, bool know_all);
  const Verifier* find(const PartialId& partial) override;
  Result<const Verifier*> learn(const PartialId& partial, ByteView chain) override;
  Bytes chain_of(const PartialId& partial) override;
  // Makes `id` known without a PeerQuery.
  void introduce(const NodeId& id);
  std::uint64_t verifications() const { return verifications_; }

 private:
  const Verifier* make(const PartialId& p);
  const FakeKeyRegistry& reg_;
  bool know_all_;
  mutable std::uint64_t verifications_ = 0;
  std::unordered_map<PartialId, std::unique_ptr<FakeVerifier>, PartialIdHash> known_;
};

}  // namespace qc::routing::testing
