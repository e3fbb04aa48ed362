#include "peerdb/codec.h"

#include <algorithm>

// Where protoc writes the generated header depends on the CMake version (src/proto/CMakeLists.txt).
#if __has_include("proto/peerdb.pb.h")
#include "proto/peerdb.pb.h"
#else
#include "peerdb.pb.h"
#endif

namespace qc::peerdb::codec {

namespace {

constexpr std::size_t kPartial = identity::kPartialIdSize;

template <typename Msg>
Result<Bytes> serialize(const Msg& m) {
  Bytes out(1 + m.ByteSizeLong());
  out[0] = kFormatVersion;
  if (!m.SerializeToArray(out.data() + 1, static_cast<int>(out.size() - 1))) {
    return Err(Errc::kInternal, "protobuf serialization failed");
  }
  return out;
}

// Checks the format byte and parses the message behind it.
template <typename Msg>
Result<void> parse(ByteView value, Msg& m, const std::string& what) {
  if (value.empty()) return Err(Errc::kParse, what + ": empty value");
  if (value[0] != kFormatVersion) {
    return Err(Errc::kParse, what + ": unknown record format " + std::to_string(value[0]));
  }
  if (value.size() - 1 > static_cast<std::size_t>(INT32_MAX) ||
      !m.ParseFromArray(value.data() + 1, static_cast<int>(value.size() - 1))) {
    return Err(Errc::kParse, what + ": record does not decode");
  }
  return Ok();
}

std::string name_key(std::string_view kind, ByteView key) {
  return std::string(kind) + " record " + to_hex(key);
}

}  // namespace

void put_u64be(Bytes& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get_u64be(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

Bytes peer_key(const identity::PartialId& p) {
  return Bytes(p.begin(), p.end());
}

Bytes event_key(std::uint64_t seq) {
  Bytes k;
  put_u64be(k, seq);
  return k;
}

Bytes route_key(const identity::PartialId& dest, std::uint64_t route_id) {
  Bytes k(dest.begin(), dest.end());
  put_u64be(k, route_id);
  return k;
}

Result<Bytes> encode_peer(const Peer& p) {
  PeerRecord m;
  if (p.node_id) {
    if (!std::equal(p.partial.begin(), p.partial.end(), p.node_id->begin())) {
      return Err(Errc::kInvalidArgument, "node id does not start with the partial id");
    }
    m.set_node_id(p.node_id->data(), p.node_id->size());
  }
  std::size_t chain = 0;
  for (const auto& c : p.cert_chain) {
    chain += c.size();
    m.add_cert_chain(c.data(), c.size());
  }
  if (chain > kMaxCertChainBytes) {
    return Err(Errc::kTooLarge, "certificate chain of " + std::to_string(chain) +
                                    " bytes exceeds " + std::to_string(kMaxCertChainBytes));
  }
  for (const auto& a : p.addresses) {
    if (a.host_port.empty() || a.host_port.size() > kMaxHostPort) {
      return Err(Errc::kInvalidArgument,
                 "address must be 1 to " + std::to_string(kMaxHostPort) + " characters");
    }
    auto* r = m.add_addresses();
    r->set_host_port(a.host_port);
    r->set_kind(static_cast<std::uint32_t>(a.kind));
    r->set_last_seen_ms(a.last_seen_ms);
  }
  for (std::size_t i = 0; i < kEventKindCount; ++i) {
    if (p.last_seen_ms[i] == 0) continue;
    auto* s = m.add_last_seen();
    s->set_kind(static_cast<std::uint32_t>(i + 1));
    s->set_unix_ms(p.last_seen_ms[i]);
  }
  m.set_first_seen_ms(p.first_seen_ms);
  return serialize(m);
}

Result<Peer> decode_peer(ByteView key, ByteView value) {
  const std::string what = name_key("peer", key);
  if (key.size() != kPartial) return Err(Errc::kParse, what + ": key is not a partial id");
  PeerRecord m;
  QC_TRY(parse(value, m, what));
  Peer p;
  std::copy(key.begin(), key.end(), p.partial.begin());
  if (!m.node_id().empty()) {
    if (m.node_id().size() != identity::kNodeIdSize ||
        !std::equal(key.begin(), key.end(), as_bytes(m.node_id()).begin())) {
      return Err(Errc::kParse, what + ": node id does not match the key");
    }
    identity::NodeId id{};
    auto b = as_bytes(m.node_id());
    std::copy(b.begin(), b.end(), id.begin());
    p.node_id = id;
  }
  std::size_t chain = 0;
  for (const auto& c : m.cert_chain()) {
    chain += c.size();
    auto b = as_bytes(c);
    p.cert_chain.emplace_back(b.begin(), b.end());
  }
  if (chain > kMaxCertChainBytes) return Err(Errc::kParse, what + ": certificate chain too large");
  for (const auto& a : m.addresses()) {
    auto kind = address_kind_from(a.kind());
    if (!kind) return Err(Errc::kParse, what + ": " + kind.error().message);
    if (a.host_port().empty() || a.host_port().size() > kMaxHostPort) {
      return Err(Errc::kParse, what + ": bad address length");
    }
    p.addresses.push_back({a.host_port(), *kind, a.last_seen_ms()});
  }
  for (const auto& s : m.last_seen()) {
    auto kind = event_kind_from(s.kind());
    if (!kind) return Err(Errc::kParse, what + ": " + kind.error().message);
    auto& slot = p.last_seen_ms[static_cast<std::size_t>(*kind) - 1];
    slot = std::max(slot, s.unix_ms());
  }
  p.first_seen_ms = m.first_seen_ms();
  return p;
}

Result<Bytes> encode_event(const Event& e) {
  if (e.detail.size() > kMaxDetail) {
    return Err(Errc::kTooLarge, "event detail exceeds " + std::to_string(kMaxDetail) + " bytes");
  }
  EventRecord m;
  m.set_kind(static_cast<std::uint32_t>(e.kind));
  m.set_peer(e.peer.data(), e.peer.size());
  m.set_interface_id(e.interface_id);
  m.set_unix_ms(e.unix_ms);
  m.set_detail(e.detail);
  return serialize(m);
}

Result<Event> decode_event(ByteView key, ByteView value) {
  const std::string what = name_key("event", key);
  if (key.size() != 8) return Err(Errc::kParse, what + ": key is not a sequence number");
  EventRecord m;
  QC_TRY(parse(value, m, what));
  Event e;
  e.seq = get_u64be(key.data());
  auto kind = event_kind_from(m.kind());
  if (!kind) return Err(Errc::kParse, what + ": " + kind.error().message);
  e.kind = *kind;
  if (m.peer().size() != kPartial) return Err(Errc::kParse, what + ": peer is not a partial id");
  auto b = as_bytes(m.peer());
  std::copy(b.begin(), b.end(), e.peer.begin());
  e.interface_id = m.interface_id();
  e.unix_ms = m.unix_ms();
  if (m.detail().size() > kMaxDetail) return Err(Errc::kParse, what + ": detail too long");
  e.detail = m.detail();
  return e;
}

Result<Bytes> encode_route(const CachedRoute& r) {
  if (r.route.size() > kMaxRouteBytes) {
    return Err(Errc::kTooLarge, "route of " + std::to_string(r.route.size()) + " bytes exceeds " +
                                    std::to_string(kMaxRouteBytes));
  }
  RouteRecord m;
  m.set_route(r.route.data(), r.route.size());
  m.set_hop_count(r.hop_count);
  m.set_created_ms(r.created_ms);
  m.set_last_used_ms(r.last_used_ms);
  return serialize(m);
}

Result<CachedRoute> decode_route(ByteView key, ByteView value) {
  const std::string what = name_key("route", key);
  if (key.size() != kPartial + 8) return Err(Errc::kParse, what + ": bad key length");
  RouteRecord m;
  QC_TRY(parse(value, m, what));
  CachedRoute r;
  std::copy(key.begin(), key.begin() + kPartial, r.destination.begin());
  r.route_id = get_u64be(key.data() + kPartial);
  if (m.route().size() > kMaxRouteBytes) return Err(Errc::kParse, what + ": route too large");
  auto b = as_bytes(m.route());
  r.route.assign(b.begin(), b.end());
  if (fnv1a64(r.route) != r.route_id) return Err(Errc::kParse, what + ": route id mismatch");
  r.hop_count = m.hop_count();
  r.created_ms = m.created_ms();
  r.last_used_ms = m.last_used_ms();
  return r;
}

}  // namespace qc::peerdb::codec
