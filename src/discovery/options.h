// Discovery's settings, with their defaults (docs/discovery-peerdb.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/clock.h"
#include "discovery/interface.h"

namespace qc::discovery {

// The UDP port beacons are sent to and received on, and the IPv6 link-local multicast group.
constexpr std::uint16_t kDefaultPort = 7421;
inline constexpr char kDefaultGroup[] = "ff02::7421";

struct Options {
  std::uint16_t port = kDefaultPort;
  std::string ipv6_group = kDefaultGroup;  // must be an ff02::/16 (link-local scope) group
  bool ipv4 = true;                        // send and receive IPv4 broadcast beacons
  bool ipv6 = true;                        // send and receive IPv6 multicast beacons
  // Each interface beacons at a random interval drawn uniformly from [min, max].
  Duration min_interval = 5 * kSecond;
  Duration max_interval = 15 * kSecond;
  // The first beacon on a newly seen interface goes out within this delay (random).
  Duration first_beacon_max_delay = 1 * kSecond;
  // The first `startup_beacons` beacons on an interface, and the retries of a beacon whose send
  // failed, go `startup_interval` apart (random within +-50 %) instead of [min, max]: a beacon
  // lost at start would otherwise cost a whole interval, and a link that has just come up has
  // no usable IPv6 link-local address for about 2 s (duplicate address detection; the send fails
  // with EADDRNOTAVAIL).
  unsigned startup_beacons = 3;
  Duration startup_interval = 1 * kSecond;
  // Interfaces are listed again this often, so that ones that appear later are used.
  Duration rescan_interval = 10 * kSecond;
  InterfaceFilter filter;
  // Bytes of the cluster id the beacon carries (4..8).
  std::size_t cluster_prefix_len = 8;
  // Seed of the interval jitter; 0 seeds from std::random_device.
  std::uint64_t seed = 0;
  // Bind each socket to its interface (SO_BINDTODEVICE) when allowed. Off, or when the kernel
  // refuses, datagrams are attributed by IP_PKTINFO / IPV6_PKTINFO instead. Tests turn it off to
  // exercise that path.
  bool bind_to_device = true;
};

}  // namespace qc::discovery
