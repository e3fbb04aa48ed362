// Network interfaces as discovery sees them, the stable interface id, the allow/deny filter, and
// the narrow OS edge that lists interfaces (InterfaceSource) with its in-memory twin.
//
// Threading: plain values; an InterfaceSource is used from the node's thread only.
#pragma once

#include <asio/ip/address_v4.hpp>
#include <asio/ip/address_v6.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::discovery {

struct Interface {
  std::string name;         // "eth0"
  std::uint32_t index = 0;  // kernel ifindex: changes when the interface is re-created
  std::uint32_t id = 0;     // stable id: interface_id(name, mac)
  Bytes mac;                // hardware address; empty when the interface has none
  bool up = false;          // IFF_UP
  bool loopback = false;    // IFF_LOOPBACK
  std::optional<asio::ip::address_v4> ipv4;        // first IPv4 address with a broadcast address
  std::optional<asio::ip::address_v4> broadcast;   // ... and that broadcast address
  std::optional<asio::ip::address_v6> link_local;  // an fe80::/10 address (scope id = index)
  bool operator==(const Interface&) const = default;
};

// The stable interface id: FNV-1a 32 over the name's bytes, one 0 byte, then the MAC bytes;
// 0 is never returned (it becomes 1) so 0 can mean "no interface". Same name and MAC give the same
// id across restarts and reboots; a re-created virtual interface with a new MAC gets a new id.
std::uint32_t interface_id(std::string_view name, ByteView mac);

// Shell-style glob ("veth*", "eth[01]", "wl?0"), by fnmatch(3).
bool glob_match(std::string_view pattern, std::string_view name);

// Which interfaces discovery uses: up, not loopback, with an IPv4 broadcast address or an IPv6
// link-local address, matching an `allow` pattern (every name when `allow` is empty) and no
// `deny` pattern (deny wins).
struct InterfaceFilter {
  std::vector<std::string> allow;
  std::vector<std::string> deny;
  bool accepts(const Interface& itf) const;
};

// Lists the host's interfaces (all of them; the caller filters).
class InterfaceSource {
 public:
  virtual ~InterfaceSource() = default;
  virtual Result<std::vector<Interface>> list() = 0;
};

// getifaddrs(3): AF_PACKET entries give the MAC, AF_INET the address and broadcast address,
// AF_INET6 the link-local address. kIo when getifaddrs fails.
class SystemInterfaceSource final : public InterfaceSource {
 public:
  Result<std::vector<Interface>> list() override;
};

// The in-memory twin: returns `interfaces` (or `error` when set). Tests edit them between calls.
class FakeInterfaceSource final : public InterfaceSource {
 public:
  Result<std::vector<Interface>> list() override {
    if (error) return Err(*error);
    return interfaces;
  }
  std::vector<Interface> interfaces;
  std::optional<Error> error;
};

}  // namespace qc::discovery
