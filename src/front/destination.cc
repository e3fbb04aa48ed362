#include "front/destination.h"

#include <algorithm>
#include <cctype>

namespace qc::front {
namespace {

bool ends_with_suffix(std::string_view host, std::string_view suffix) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.size() <= suffix.size() + 1) return false;
  std::string_view tail = host.substr(host.size() - suffix.size());
  if (host[host.size() - suffix.size() - 1] != '.') return false;
  return std::equal(tail.begin(), tail.end(), suffix.begin(), suffix.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

Result<Destination> outside(const socks5::Address& address, const DestinationPolicy& policy) {
  if (!policy.allow_direct) {
    return Err(Errc::kLimit,
               address.to_string() + " is outside the mesh and this node does not let traffic out");
  }
  Destination d;
  d.kind = Destination::Kind::kOutside;
  d.address = address;
  return d;
}

Result<Destination> mesh(const socks5::Address& address, std::string_view text,
                         const DestinationPolicy& policy) {
  const identity::ClusterId* cluster = policy.cluster ? &*policy.cluster : nullptr;
  auto peer = identity::parse_peer(text, policy.suffix, cluster);
  if (!peer) return Err(Errc::kNotFound, peer.error().message);
  Destination d;
  d.kind = Destination::Kind::kMesh;
  d.peer = std::move(*peer);
  d.address = address;
  return d;
}

}  // namespace

Result<Destination> classify(const socks5::Address& address, const DestinationPolicy& policy) {
  switch (address.type) {
    case socks5::AddressType::kIpv4:
      return outside(address, policy);
    case socks5::AddressType::kIpv6: {
      if (address.ipv6[0] != 0xfd || address.ipv6[1] != 0xcc) return outside(address, policy);
      std::string text = address.to_string();  // "[v6]:port"
      return mesh(address, text.substr(0, text.rfind(':')), policy);
    }
    case socks5::AddressType::kDomain:
      break;
  }
  std::string_view host = address.domain;
  if (ends_with_suffix(host, policy.suffix)) return mesh(address, host, policy);
  if (host.size() == identity::kTextIdSize && identity::parse_text_id(host)) {
    return mesh(address, host, policy);
  }
  if (host.size() >= 2 * identity::kPartialIdSize && host.size() <= 2 * identity::kNodeIdSize &&
      host.size() % 2 == 0 && is_hex(host)) {
    return mesh(address, host, policy);
  }
  // An IPv6 literal given as a domain name: a mesh address when it is in fdcc::/16.
  if (host.find(':') != std::string_view::npos) {
    std::string_view bare = host;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
      bare = bare.substr(1, bare.size() - 2);
    }
    if (bare.size() >= 4 && (bare.substr(0, 4) == "fdcc" || bare.substr(0, 4) == "FDCC")) {
      return mesh(address, host, policy);
    }
  }
  return outside(address, policy);
}

Result<identity::NodeId> resolve_peer(const identity::NodeIdPrefix& prefix,
                                      std::span<const identity::NodeId> known) {
  const identity::NodeId* found = nullptr;
  std::size_t matches = 0;
  for (const identity::NodeId& id : known) {
    if (!prefix.matches(id)) continue;
    if (found != nullptr && *found == id) continue;  // the same peer listed twice
    found = &id;
    ++matches;
  }
  std::string name = identity::text_id(prefix.partial());
  if (matches == 0) return Err(Errc::kNotFound, "no known peer has id prefix " + name);
  if (matches > 1) {
    return Err(Errc::kNotFound, "id prefix " + name + " matches " + std::to_string(matches) +
                                    " peers; give more of the id");
  }
  return *found;
}

}  // namespace qc::front
