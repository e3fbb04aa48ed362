#include "discovery/interface.h"

#include <fnmatch.h>

#include <string>

namespace qc::discovery {

std::uint32_t interface_id(std::string_view name, ByteView mac) {
  std::uint32_t h = 2166136261u;
  auto mix = [&](std::uint8_t b) {
    h ^= b;
    h *= 16777619u;
  };
  for (char c : name) mix(static_cast<std::uint8_t>(c));
  mix(0);
  for (auto b : mac) mix(b);
  return h == 0 ? 1 : h;
}

bool glob_match(std::string_view pattern, std::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), 0) == 0;
}

bool InterfaceFilter::accepts(const Interface& itf) const {
  if (!itf.up || itf.loopback) return false;
  if (!itf.broadcast && !itf.link_local) return false;
  for (const auto& d : deny) {
    if (glob_match(d, itf.name)) return false;
  }
  if (allow.empty()) return true;
  for (const auto& a : allow) {
    if (glob_match(a, itf.name)) return true;
  }
  return false;
}

}  // namespace qc::discovery
