// ExposePolicy: which ports of this node other nodes may reach through proxied streams, and the
// local service each one leads to. Anything not listed is refused with "not allowed by ruleset".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace qc::front {

struct ExposeRule {
  std::uint16_t port = 0;          // the port a remote SOCKS client asks for
  std::string host = "127.0.0.1";  // the local service's address (IP literal or name)
  std::uint16_t target_port = 0;   // ... and port
};

struct ExposePolicy {
  std::vector<ExposeRule> rules;

  // The rule for `port`, or nullptr when the port is not exposed.
  const ExposeRule* find(std::uint16_t port) const;

  // Parses entries as a config file would give them:
  //   "8080"                   port 8080 -> 127.0.0.1:8080
  //   "8080=80"                port 8080 -> 127.0.0.1:80
  //   "8080=10.0.0.5:80"       port 8080 -> 10.0.0.5:80
  //   "2222=[::1]:22"          IPv6 literals in brackets
  // kParse naming the entry on anything else (port 0, out of range, duplicates).
  static Result<ExposePolicy> parse(const std::vector<std::string>& entries);
};

}  // namespace qc::front
