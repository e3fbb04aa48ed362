// Discovery: LAN discovery on the node's Asio event loop (layer 4; docs/discovery-peerdb.md).
//
// Beacons go out on every interface the filter accepts (IPv4 broadcast to the interface's
// broadcast address and IPv6 multicast to ff02::7421, both on UDP port 7421 by default) at a
// random interval of 5 to 15 s; interfaces are re-listed every 10 s. Each beacon of our cluster
// heard from another node is reported to the handler with the interface it arrived on; the node
// decides whether to dial (it knows its sessions), and trusts the identity only after the QUIC
// handshake.
//
// Embedding:
//   auto d = discovery::Discovery::create(io, options, {cluster, partial, quic_port},
//                                         [&](const discovery::BeaconHeard& h) { ... });
//   if (!d) ...;  (*d)->start();
//
// Threading: single-threaded; every call and the handler on the thread that runs `io`. The
// handler must not destroy the Discovery.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <memory>

#include "common/clock.h"
#include "discovery/discovery_core.h"
#include "discovery/udp_beacon_transport.h"

namespace qc::discovery {

class Discovery {
 public:
  using Handler = DiscoveryCore::Handler;

  // The real edges: the host's interfaces (getifaddrs), UDP sockets on `io`, the system clock.
  // kInvalidArgument for a bad IPv6 group.
  static Result<std::unique_ptr<Discovery>> create(asio::io_context& io, const Options& options,
                                                   const LocalNode& self, Handler handler);
  // Injected edges, which must outlive the Discovery.
  Discovery(asio::io_context& io, const Options& options, const LocalNode& self,
            InterfaceSource& source, BeaconTransport& transport, const Clock& clock,
            Handler handler);
  ~Discovery();
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Lists interfaces and starts beaconing; idempotent.
  void start();
  // Closes the sockets and stops the timer; start() again resumes.
  void stop();
  void set_quic_port(std::uint16_t port) { core_.set_quic_port(port); }

  const Counters& counters() const { return core_.counters(); }
  std::vector<Interface> interfaces() const { return core_.interfaces(); }
  DiscoveryCore& core() { return core_; }

 private:
  Discovery(asio::io_context& io, const Options& options, const LocalNode& self,
            std::unique_ptr<InterfaceSource> source, std::unique_ptr<BeaconTransport> transport,
            Handler handler);
  void arm();

  std::unique_ptr<InterfaceSource> own_source_;
  std::unique_ptr<BeaconTransport> own_transport_;
  const Clock& clock_;
  DiscoveryCore core_;
  asio::steady_timer timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace qc::discovery
