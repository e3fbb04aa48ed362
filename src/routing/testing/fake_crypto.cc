#include "routing/testing/fake_crypto.h"

#include <algorithm>
#include <cstring>

namespace qc::routing::testing {

NodeId FakeKeyRegistry::add() {
  for (;;) {
    NodeId id{};
    for (std::size_t i = 0; i < id.size(); i += 8) {
      std::uint64_t v = rng_.next();
      std::memcpy(id.data() + i, &v, 8);
    }
    PartialId p = partial_of(id);
    if (nodes_.count(p)) continue;
    nodes_.emplace(p, Entry{id, SipKey{rng_.next(), rng_.next()}});
    return id;
  }
}

const SipKey* FakeKeyRegistry::key_of(const PartialId& p) const {
  auto it = nodes_.find(p);
  return it == nodes_.end() ? nullptr : &it->second.key;
}

const NodeId* FakeKeyRegistry::node_of(const PartialId& p) const {
  auto it = nodes_.find(p);
  return it == nodes_.end() ? nullptr : &it->second.id;
}

Bytes fake_sign(const SipKey& key, ByteView data) {
  const std::uint64_t h = siphash(key, data);
  Bytes sig(64);
  for (std::uint64_t i = 0; i < 8; ++i) {
    SipHasher x(key);
    x.update_u64(h);
    x.update_u64(i);
    const std::uint64_t v = x.finish();
    std::memcpy(sig.data() + 8 * i, &v, 8);
  }
  return sig;
}

FakeSigner::FakeSigner(const FakeKeyRegistry& reg, const NodeId& id) : id_(id) {
  if (const SipKey* k = reg.key_of(partial_of(id))) key_ = *k;
}

Bytes FakeSigner::sign(ByteView data) {
  ++signatures;
  return fake_sign(key_, data);
}

bool FakeVerifier::verify(ByteView data, ByteView signature) const {
  Bytes want = fake_sign(key_, data);
  return signature.size() == want.size() && std::equal(want.begin(), want.end(), signature.begin());
}

FakeKeyDirectory::FakeKeyDirectory(const FakeKeyRegistry& reg, const NodeId& self, bool know_all)
    : reg_(reg), know_all_(know_all) {
  introduce(self);
}

const Verifier* FakeKeyDirectory::make(const PartialId& p) {
  const SipKey* k = reg_.key_of(p);
  const NodeId* id = reg_.node_of(p);
  if (!k || !id) return nullptr;
  auto& slot = known_[p];
  if (!slot) slot = std::make_unique<FakeVerifier>(*id, *k);
  return slot.get();
}

const Verifier* FakeKeyDirectory::find(const PartialId& partial) {
  auto it = known_.find(partial);
  if (it != known_.end()) return it->second.get();
  return know_all_ ? make(partial) : nullptr;
}

Result<const Verifier*> FakeKeyDirectory::learn(const PartialId& partial, ByteView chain) {
  const NodeId* id = reg_.node_of(partial);
  if (!id || chain.size() != id->size() || !std::equal(chain.begin(), chain.end(), id->begin()))
    return Err(Errc::kVerify, "unknown node or chain does not match");
  return make(partial);
}

Bytes FakeKeyDirectory::chain_of(const PartialId& partial) {
  const Verifier* v = find(partial);
  if (!v) return {};
  return Bytes(v->node_id().begin(), v->node_id().end());
}

void FakeKeyDirectory::introduce(const NodeId& id) {
  make(partial_of(id));
}

}  // namespace qc::routing::testing
