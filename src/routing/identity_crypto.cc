#include "routing/identity_crypto.h"

namespace qc::routing {

Bytes encode_chain(const std::vector<Bytes>& chain) {
  Bytes out;
  for (const Bytes& c : chain) out.insert(out.end(), c.begin(), c.end());
  return out;
}

Result<std::vector<Bytes>> decode_chain(ByteView b) {
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while (pos < b.size()) {
    if (out.size() >= 8) return Err(Errc::kTooLarge, "chain longer than 8 certificates");
    if (b.size() - pos < 2 || b[pos] != 0x30) return Err(Errc::kParse, "not a DER SEQUENCE");
    std::size_t len = b[pos + 1];
    std::size_t header = 2;
    if (len & 0x80) {
      const std::size_t n = len & 0x7f;
      if (n == 0 || n > 3 || b.size() - pos < 2 + n) return Err(Errc::kParse, "bad DER length");
      len = 0;
      for (std::size_t i = 0; i < n; ++i) len = (len << 8) | b[pos + 2 + i];
      header += n;
    }
    if (b.size() - pos - header < len) return Err(Errc::kParse, "truncated certificate");
    out.emplace_back(b.begin() + static_cast<std::ptrdiff_t>(pos),
                     b.begin() + static_cast<std::ptrdiff_t>(pos + header + len));
    pos += header + len;
  }
  if (out.empty()) return Err(Errc::kParse, "empty chain");
  return out;
}

Bytes IdentitySigner::sign(ByteView data) {
  auto s = key_.sign(data);
  return s ? std::move(*s) : Bytes{};
}

Result<NodeId> IdentityKeyDirectory::add(const std::vector<Bytes>& chain) {
  if (chain.empty()) return Err(Errc::kInvalidArgument, "empty chain");
  QC_TRY(identity::verify_chain(chain, ca_der_, unix_now_()));
  auto key = identity::PublicKey::from_cert_der(chain.front());
  if (!key) return Err(key.error());
  const NodeId id = key->node_id();
  const PartialId p = partial_of(id);
  if (known_.count(p) == 0 && known_.size() >= capacity_)
    return Err(Errc::kLimit, "key directory full");
  known_[p] = Known{std::make_unique<IdentityVerifier>(*key), encode_chain(chain)};
  return id;
}

const Verifier* IdentityKeyDirectory::find(const PartialId& partial) {
  auto it = known_.find(partial);
  return it == known_.end() ? nullptr : it->second.verifier.get();
}

Result<const Verifier*> IdentityKeyDirectory::learn(const PartialId& partial, ByteView chain) {
  auto certs = decode_chain(chain);
  if (!certs) return Err(certs.error());
  auto id = add(*certs);
  if (!id) return Err(id.error());
  if (partial_of(*id) != partial) {
    known_.erase(partial_of(*id));
    return Err(Errc::kVerify, "chain is for another node");
  }
  return find(partial);
}

Bytes IdentityKeyDirectory::chain_of(const PartialId& partial) {
  auto it = known_.find(partial);
  return it == known_.end() ? Bytes{} : it->second.chain;
}

}  // namespace qc::routing
