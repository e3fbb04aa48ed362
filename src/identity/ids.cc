// Ids, addresses, hostnames and the parser for what a user types to name a peer.
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "identity/identity.h"

namespace qc::identity {

namespace {

constexpr std::string_view kAcceptedForms =
    "expected a text id (16 base32 characters, e.g. faqmce7yybsswacf), a hostname "
    "'<text id>.<suffix>', a cluster IPv6 address (fdcc:...), or a hex node id prefix of 20 to "
    "64 digits";

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Unexpected bad_peer(std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 80));
  return Err(Errc::kParse, "cannot read '" + shown + "' as a peer: " + std::string(why) + "; " +
                               std::string(kAcceptedForms));
}

NodeIdPrefix prefix_from_partial(const PartialId& p) {
  return NodeIdPrefix{std::vector<std::uint8_t>(p.begin(), p.end())};
}

}  // namespace

PartialId partial_of(const NodeId& id) {
  PartialId p{};
  std::copy_n(id.begin(), kPartialIdSize, p.begin());
  return p;
}

std::string text_id(const PartialId& p) {
  return base32_encode(ByteView(p.data(), p.size()));
}

Ipv6 address_of(const ClusterId& cluster, const PartialId& p) {
  Ipv6 a{};
  a[0] = 0xfd;
  a[1] = 0xcc;
  std::copy_n(cluster.begin(), 4, a.begin() + 2);
  std::copy_n(p.begin(), kPartialIdSize, a.begin() + 6);
  return a;
}

std::string cluster_prefix(const ClusterId& cluster) {
  Ipv6 a{};
  a[0] = 0xfd;
  a[1] = 0xcc;
  std::copy_n(cluster.begin(), 4, a.begin() + 2);
  return ipv6_to_string(a) + "/48";
}

std::string ipv6_to_string(const Ipv6& a) {
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, a.data(), buf, sizeof buf) == nullptr) return "";
  return buf;
}

std::string hostname(const PartialId& p, std::string_view suffix) {
  return text_id(p) + "." + std::string(suffix);
}

bool NodeIdPrefix::matches(const NodeId& id) const {
  if (bytes.size() < kPartialIdSize || bytes.size() > kNodeIdSize) return false;
  return std::equal(bytes.begin(), bytes.end(), id.begin());
}

PartialId NodeIdPrefix::partial() const {
  PartialId p{};
  std::copy_n(bytes.begin(), std::min(bytes.size(), kPartialIdSize), p.begin());
  return p;
}

Result<PartialId> parse_text_id(std::string_view text) {
  if (text.size() != kTextIdSize) {
    return Err(Errc::kParse, "a text id has 16 base32 characters (a-z, 2-7); '" +
                                 std::string(text.substr(0, 80)) + "' has " +
                                 std::to_string(text.size()));
  }
  auto b = base32_decode(text);
  if (!b) return Err(Errc::kParse, "not a text id: " + b.error().message);
  if (b->size() != kPartialIdSize) return Err(Errc::kParse, "not a text id: wrong length");
  PartialId p{};
  std::copy_n(b->begin(), kPartialIdSize, p.begin());
  return p;
}

Result<NodeIdPrefix> parse_peer(std::string_view text, std::string_view suffix,
                                const ClusterId* cluster) {
  if (text.empty()) return bad_peer(text, "it is empty");
  if (text.size() > 200) return bad_peer(text, "it is too long");

  // IPv6 literal, optionally in brackets.
  std::string_view v6 = text;
  bool bracketed = v6.front() == '[';
  if (bracketed) {
    if (v6.back() != ']') return bad_peer(text, "'[' without a closing ']'");
    v6 = v6.substr(1, v6.size() - 2);
  }
  if (bracketed || v6.find(':') != std::string_view::npos) {
    std::string s(v6);
    Ipv6 a{};
    if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) {
      return bad_peer(text, "it is not a valid IPv6 address");
    }
    if (a[0] != 0xfd || a[1] != 0xcc) {
      return bad_peer(text, "the address is not in a quic-channel cluster (fdcc::/16)");
    }
    if (cluster != nullptr && !std::equal(a.begin() + 2, a.begin() + 6, cluster->begin())) {
      return Err(Errc::kParse, "'" + s + "' belongs to another cluster; this cluster is " +
                                   cluster_prefix(*cluster));
    }
    PartialId p{};
    std::copy_n(a.begin() + 6, kPartialIdSize, p.begin());
    return prefix_from_partial(p);
  }

  // Hostname "<text id>.<suffix>".
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    std::string_view host = text.substr(0, dot);
    std::string_view sfx = text.substr(dot + 1);
    if (!sfx.empty() && sfx.back() == '.') sfx.remove_suffix(1);  // fully qualified form
    if (lower(sfx) != lower(suffix)) {
      return bad_peer(text, "the hostname suffix is '" + std::string(sfx.substr(0, 40)) +
                                "', this node uses '" + std::string(suffix) + "'");
    }
    auto p = parse_text_id(host);
    if (!p) return bad_peer(text, p.error().message);
    return prefix_from_partial(*p);
  }

  // Text id.
  if (text.size() == kTextIdSize) {
    auto p = parse_text_id(text);
    if (!p) return bad_peer(text, p.error().message);
    return prefix_from_partial(*p);
  }

  // Hex prefix of 10 to 32 bytes.
  if (text.size() >= 2 * kPartialIdSize && text.size() <= 2 * kNodeIdSize) {
    auto b = from_hex(text);
    if (b) return NodeIdPrefix{std::move(*b)};
    return bad_peer(text, b.error().message);
  }
  return bad_peer(text, "it has neither the length of a text id nor of a hex prefix");
}

std::array<std::uint8_t, 32> sha256(ByteView data) {
  std::array<std::uint8_t, 32> out{};
  // gnutls_hash_fast only fails on an unknown algorithm; SHA-256 is always there.
  int rv = gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), out.data());
  (void)rv;
  return out;
}

}  // namespace qc::identity
