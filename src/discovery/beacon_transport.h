// BeaconTransport: the narrow OS edge discovery sends and receives beacons through, per interface.
// UdpBeaconTransport (udp_beacon_transport.h) is the real one; FakeLan (fake_lan.h) the in-memory
// twin.
//
// Threading: called from the node's thread only; the receiver runs on that thread too.
#pragma once

#include <asio/ip/udp.hpp>
#include <cstdint>
#include <functional>

#include "common/bytes.h"
#include "common/result.h"
#include "discovery/interface.h"

namespace qc::discovery {

class BeaconTransport {
 public:
  // A datagram that arrived on the interface of kernel index `ifindex`, from `from` (the sender's
  // discovery socket; for IPv6 link-local senders the scope id is set).
  using Receiver = std::function<void(ByteView data, const asio::ip::udp::endpoint& from,
                                      std::uint32_t ifindex)>;

  virtual ~BeaconTransport() = default;
  virtual void set_receiver(Receiver r) = 0;
  // Starts receiving on `itf` and makes send() possible on it. Opening an open interface again
  // re-opens it (its addresses may have changed). An error leaves the interface closed.
  virtual Result<void> open(const Interface& itf) = 0;
  virtual void close(const Interface& itf) = 0;
  // Sends `beacon` on `itf`: IPv4 broadcast to its broadcast address and IPv6 multicast to the
  // group, as each applies. Ok when at least one went out.
  virtual Result<void> send(const Interface& itf, ByteView beacon) = 0;
};

}  // namespace qc::discovery
