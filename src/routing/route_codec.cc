#include "routing/route_codec.h"

#include <algorithm>
#include <unordered_set>

namespace qc::routing {

namespace {

constexpr std::string_view kHopDomain = "qc-hop-v1";
constexpr std::string_view kEstablishDomain = "qc-establish-v1";

void put_u16(Bytes& b, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u32(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(Bytes& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_str(Bytes& b, const std::string& s) {
  b.insert(b.end(), s.begin(), s.end());
}

void put_header(Bytes& b, const Route& r) {
  put_str(b, std::string(kHopDomain));
  put_str(b, r.originator());
  put_u64(b, r.nonce());
  b.push_back(static_cast<std::uint8_t>(r.destination().size()));
  put_str(b, r.destination());
  put_u64(b, r.expiry_ms());
  b.push_back(static_cast<std::uint8_t>(r.avoid_size()));
  for (const std::string& a : r.avoid()) put_str(b, a);
}

void put_fields(Bytes& b, const Hop& h) {
  put_str(b, h.partial_id());
  put_u32(b, h.backward_interface());
  put_u32(b, h.forward_interface());
  put_u64(b, h.timestamp_ms());
  put_str(b, h.next_partial_id());
}

void put_sig(Bytes& b, const Hop& h) {
  put_u16(b, static_cast<std::uint16_t>(h.signature().size()));
  put_str(b, h.signature());
}

ByteView view(const std::string& s) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

}  // namespace

Result<void> check_route_structure(const Route& route, std::size_t max_hops) {
  if (route.originator().size() != kNodeIdSize) return Err(Errc::kProtocol, "originator size");
  if (route.destination().size() < kPartialIdSize || route.destination().size() > kNodeIdSize)
    return Err(Errc::kProtocol, "destination size");
  if (route.avoid_size() > static_cast<int>(kMaxAvoid)) return Err(Errc::kProtocol, "avoid list");
  for (const std::string& a : route.avoid())
    if (a.size() != kPartialIdSize) return Err(Errc::kProtocol, "avoid id size");
  const int n = route.hops_size();
  if (n < 1) return Err(Errc::kProtocol, "no hops");
  if (static_cast<std::size_t>(n) > max_hops) return Err(Errc::kTooLarge, "too many hops");
  std::unordered_set<PartialId, PartialIdHash> seen;
  for (int i = 0; i < n; ++i) {
    const Hop& h = route.hops(i);
    if (h.partial_id().size() != kPartialIdSize || h.next_partial_id().size() != kPartialIdSize)
      return Err(Errc::kProtocol, "hop id size");
    if (h.signature().empty() || h.signature().size() > kMaxSignatureSize)
      return Err(Errc::kProtocol, "signature size");
    if (i + 1 < n && h.next_partial_id() != route.hops(i + 1).partial_id())
      return Err(Errc::kProtocol, "hop chain broken");
    PartialId p{};
    (void)load_id(h.partial_id(), p);
    if (!seen.insert(p).second) return Err(Errc::kProtocol, "node twice in route");
  }
  if (route.hops(0).partial_id() != route.originator().substr(0, kPartialIdSize))
    return Err(Errc::kProtocol, "first hop is not the originator");
  if (route.hops(0).backward_interface() != 0) return Err(Errc::kProtocol, "originator hop");
  return Ok();
}

std::vector<PartialId> route_partials(const Route& route) {
  std::vector<PartialId> out(static_cast<std::size_t>(route.hops_size()));
  for (int i = 0; i < route.hops_size(); ++i)
    (void)load_id(route.hops(i).partial_id(), out[static_cast<std::size_t>(i)]);
  return out;
}

bool append_signed_hop(Route& route, const HopFields& f, Signer& signer) {
  Bytes b;
  put_header(b, route);
  for (const Hop& h : route.hops()) {
    put_fields(b, h);
    put_sig(b, h);
  }
  Hop* hop = route.add_hops();
  hop->set_partial_id(id_bytes(f.partial));
  hop->set_backward_interface(f.backward_interface);
  hop->set_forward_interface(f.forward_interface);
  hop->set_timestamp_ms(f.timestamp_ms);
  hop->set_next_partial_id(id_bytes(f.next));
  put_fields(b, *hop);
  Bytes sig = signer.sign(b);
  if (sig.empty() || sig.size() > kMaxSignatureSize) {
    route.mutable_hops()->RemoveLast();
    return false;
  }
  hop->set_signature(std::string(sig.begin(), sig.end()));
  return true;
}

void VerifiedCache::insert(std::uint64_t h) {
  if (capacity_ == 0 || !set_.insert(h).second) return;
  order_.push_back(h);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

VerifyOutcome verify_route(const Route& route, KeyDirectory& keys, VerifiedCache* cache,
                           std::vector<PartialId>* unknown) {
  const int n = route.hops_size();
  // Signed data for hop i is a prefix of one buffer; remember where each hop's data ends.
  Bytes b;
  put_header(b, route);
  std::vector<std::size_t> data_end(static_cast<std::size_t>(n));
  std::vector<std::size_t> sig_end(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    put_fields(b, route.hops(i));
    data_end[static_cast<std::size_t>(i)] = b.size();
    put_sig(b, route.hops(i));
    sig_end[static_cast<std::size_t>(i)] = b.size();
  }
  // The longest prefix already known good.
  int first = 0;
  std::vector<std::uint64_t> keyhash(static_cast<std::size_t>(n), 0);
  if (cache) {
    SipHasher h(cache->key());
    std::size_t pos = 0;
    for (int i = 0; i < n; ++i) {
      std::size_t end = sig_end[static_cast<std::size_t>(i)];
      h.update(ByteView(b.data() + pos, end - pos));
      pos = end;
      SipHasher copy = h;
      keyhash[static_cast<std::size_t>(i)] = copy.finish();
    }
    for (int i = n - 1; i >= 0; --i) {
      if (cache->contains(keyhash[static_cast<std::size_t>(i)])) {
        first = i + 1;
        break;
      }
    }
  }
  std::vector<const Verifier*> verifiers(static_cast<std::size_t>(n), nullptr);
  bool missing = false;
  for (int i = first; i < n; ++i) {
    PartialId p{};
    (void)load_id(route.hops(i).partial_id(), p);
    verifiers[static_cast<std::size_t>(i)] = keys.find(p);
    if (!verifiers[static_cast<std::size_t>(i)]) {
      missing = true;
      if (unknown) unknown->push_back(p);
    }
  }
  if (missing) return VerifyOutcome::kUnknownKey;
  for (int i = first; i < n; ++i) {
    const auto u = static_cast<std::size_t>(i);
    if (i == 0) {
      // The originator's verifier must be for the full node id the header names.
      if (id_bytes(verifiers[0]->node_id()) != route.originator())
        return VerifyOutcome::kBadSignature;
    }
    if (!verifiers[u]->verify(ByteView(b.data(), data_end[u]), view(route.hops(i).signature())))
      return VerifyOutcome::kBadSignature;
    if (cache) cache->insert(keyhash[u]);
  }
  return VerifyOutcome::kOk;
}

bool verify_hop(const Route& route, int i, const Verifier& verifier) {
  if (i < 0 || i >= route.hops_size()) return false;
  Bytes b;
  put_header(b, route);
  for (int j = 0; j < i; ++j) {
    put_fields(b, route.hops(j));
    put_sig(b, route.hops(j));
  }
  put_fields(b, route.hops(i));
  return verifier.verify(b, view(route.hops(i).signature()));
}

Bytes establish_signed_bytes(const RouteEstablish& est) {
  Bytes b;
  put_str(b, std::string(kEstablishDomain));
  put_header(b, est.route());
  for (const Hop& h : est.route().hops()) {
    put_fields(b, h);
    put_sig(b, h);
  }
  put_str(b, est.destination_id());
  put_u32(b, est.backward_interface());
  put_u64(b, est.timestamp_ms());
  return b;
}

std::uint64_t copy_hash(const SipKey& key, const Route& route) {
  if (route.hops_size() == 0) return 0;
  return siphash(key, view(route.hops(route.hops_size() - 1).signature()));
}

std::uint64_t probe_id_hash(const SipKey& key, const Route& route) {
  SipHasher h(key);
  h.update(view(route.originator()));
  h.update_u64(route.nonce());
  return h.finish();
}

}  // namespace qc::routing
