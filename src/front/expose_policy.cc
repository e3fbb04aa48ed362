#include "front/expose_policy.h"

#include <charconv>

namespace qc::front {
namespace {

Result<std::uint16_t> parse_port(std::string_view s, const std::string& entry) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || value == 0 || value > 65535) {
    return Err(Errc::kParse,
               "expose entry '" + entry + "': '" + std::string(s) + "' is not a port (1-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

const ExposeRule* ExposePolicy::find(std::uint16_t port) const {
  for (const ExposeRule& r : rules) {
    if (r.port == port) return &r;
  }
  return nullptr;
}

Result<ExposePolicy> ExposePolicy::parse(const std::vector<std::string>& entries) {
  ExposePolicy policy;
  for (const std::string& entry : entries) {
    std::string_view text = entry;
    ExposeRule rule;
    auto eq = text.find('=');
    auto port = parse_port(text.substr(0, eq), entry);
    if (!port) return Err(port.error());
    rule.port = *port;
    rule.target_port = *port;
    if (eq != std::string_view::npos) {
      std::string_view target = text.substr(eq + 1);
      auto colon = target.rfind(':');
      if (colon == std::string_view::npos) {
        auto p = parse_port(target, entry);
        if (!p) return Err(p.error());
        rule.target_port = *p;
      } else {
        std::string_view host = target.substr(0, colon);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
          host = host.substr(1, host.size() - 2);
        } else if (host.find(':') != std::string_view::npos) {
          return Err(Errc::kParse, "expose entry '" + entry + "': put IPv6 addresses in []");
        }
        if (host.empty()) return Err(Errc::kParse, "expose entry '" + entry + "': empty host");
        auto p = parse_port(target.substr(colon + 1), entry);
        if (!p) return Err(p.error());
        rule.host = std::string(host);
        rule.target_port = *p;
      }
    }
    if (policy.find(rule.port) != nullptr) {
      return Err(Errc::kParse, "expose entry '" + entry + "': port listed twice");
    }
    policy.rules.push_back(std::move(rule));
  }
  return policy;
}

}  // namespace qc::front
