// SystemInterfaceSource: getifaddrs(3).
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "discovery/interface.h"

namespace qc::discovery {

Result<std::vector<Interface>> SystemInterfaceSource::list() {
  ifaddrs* all = nullptr;
  if (getifaddrs(&all) != 0) {
    return Err(Errc::kIo, std::string("getifaddrs: ") + std::strerror(errno));
  }
  std::map<std::string, Interface> by_name;
  for (ifaddrs* a = all; a; a = a->ifa_next) {
    if (!a->ifa_name) continue;
    Interface& itf = by_name[a->ifa_name];
    if (itf.name.empty()) {
      itf.name = a->ifa_name;
      itf.index = if_nametoindex(a->ifa_name);
    }
    itf.up = itf.up || (a->ifa_flags & IFF_UP);
    itf.loopback = itf.loopback || (a->ifa_flags & IFF_LOOPBACK);
    if (!a->ifa_addr) continue;
    switch (a->ifa_addr->sa_family) {
      case AF_PACKET: {
        const auto* ll = reinterpret_cast<const sockaddr_ll*>(a->ifa_addr);
        if (ll->sll_halen > 0 && ll->sll_halen <= sizeof ll->sll_addr) {
          itf.mac.assign(ll->sll_addr, ll->sll_addr + ll->sll_halen);
        }
        if (ll->sll_ifindex > 0) itf.index = static_cast<std::uint32_t>(ll->sll_ifindex);
        break;
      }
      case AF_INET: {
        if (itf.broadcast || !(a->ifa_flags & IFF_BROADCAST) || !a->ifa_broadaddr) break;
        const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
        const auto* br = reinterpret_cast<const sockaddr_in*>(a->ifa_broadaddr);
        itf.ipv4 = asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
        itf.broadcast = asio::ip::address_v4(ntohl(br->sin_addr.s_addr));
        break;
      }
      case AF_INET6: {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
        if (itf.link_local || !IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr)) break;
        asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), &in6->sin6_addr, 16);
        itf.link_local = asio::ip::address_v6(b, in6->sin6_scope_id);
        break;
      }
      default:
        break;
    }
  }
  freeifaddrs(all);
  std::vector<Interface> out;
  for (auto& [name, itf] : by_name) {
    itf.id = interface_id(itf.name, itf.mac);
    out.push_back(std::move(itf));
  }
  return out;
}

}  // namespace qc::discovery
