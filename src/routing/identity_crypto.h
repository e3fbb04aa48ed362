// The routing crypto interfaces backed by qc::identity (Ed25519 / ECDSA P-256 keys, X.509 chains
// checked against the cluster CA). This is what the daemon plugs into the Router.
//
// Certificate chains travel in PeerAnswer as the DER certificates concatenated, leaf first
// (DER is self-delimiting). Threading: like the Router, one owner.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "identity/identity.h"
#include "routing/crypto.h"

namespace qc::routing {

// Concatenated DER certificates <-> the list. kParse on a truncated or non-SEQUENCE element.
Bytes encode_chain(const std::vector<Bytes>& chain);
Result<std::vector<Bytes>> decode_chain(ByteView bytes);

class IdentitySigner final : public Signer {
 public:
  explicit IdentitySigner(identity::PrivateKey key)
      : key_(std::move(key)), id_(key_.public_key().node_id()) {}
  const NodeId& node_id() const override { return id_; }
  Bytes sign(ByteView data) override;

 private:
  identity::PrivateKey key_;
  NodeId id_;
};

class IdentityVerifier final : public Verifier {
 public:
  explicit IdentityVerifier(identity::PublicKey key) : key_(std::move(key)), id_(key_.node_id()) {}
  const NodeId& node_id() const override { return id_; }
  bool verify(ByteView data, ByteView signature) const override {
    return static_cast<bool>(key_.verify(data, signature));
  }

 private:
  identity::PublicKey key_;
  NodeId id_;
};

// Known nodes, each with its verified chain. `unix_now` gives seconds for chain validity (the
// embedder's wall clock).
class IdentityKeyDirectory final : public KeyDirectory {
 public:
  IdentityKeyDirectory(Bytes ca_der, std::function<std::int64_t()> unix_now,
                       std::size_t capacity = 4096)
      : ca_der_(std::move(ca_der)), unix_now_(std::move(unix_now)), capacity_(capacity) {}

  // Adds a node from its chain (leaf first), e.g. this node's own, or a neighbour's from the
  // session handshake. Checks it against the CA. Returns the node id.
  Result<NodeId> add(const std::vector<Bytes>& chain);

  const Verifier* find(const PartialId& partial) override;
  Result<const Verifier*> learn(const PartialId& partial, ByteView chain) override;
  Bytes chain_of(const PartialId& partial) override;
  std::size_t size() const { return known_.size(); }

 private:
  struct Known {
    std::unique_ptr<IdentityVerifier> verifier;
    Bytes chain;  // encoded
  };
  Bytes ca_der_;
  std::function<std::int64_t()> unix_now_;
  std::size_t capacity_;
  std::unordered_map<PartialId, Known, PartialIdHash> known_;
};

}  // namespace qc::routing
