#include "tun/tun_mtu.h"

#include <algorithm>
#include <string>

#include "tun/ipv6_packet.h"

namespace qc::tun {

Result<std::size_t> tun_mtu_for(std::size_t datagram_room) {
  if (datagram_room < kIpv6MinMtu) {
    return Err(Errc::kUnsupported,
               "the channel carries datagrams of " + std::to_string(datagram_room) +
                   " bytes, less than the 1280 bytes IPv6 needs on every link: VPN packets cannot "
                   "use this path (it needs a larger path MTU between the nodes)");
  }
  return std::min<std::size_t>(datagram_room, 65535);
}

}  // namespace qc::tun
