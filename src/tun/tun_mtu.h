// The TUN MTU from the channel's DATAGRAM room. A TUN packet rides as the whole payload of one
// channel DATAGRAM (no framing), so the largest packet the VPN can carry is the room itself; IPv6
// needs at least 1280 on every link (RFC 8200), so a smaller room cannot carry VPN traffic.
// Pure function; thread-safe.
#pragma once

#include <cstddef>

#include "common/result.h"

namespace qc::tun {

// min(room, 65535) when room >= 1280; kUnsupported (saying why) when it is smaller.
Result<std::size_t> tun_mtu_for(std::size_t datagram_room);

}  // namespace qc::tun
