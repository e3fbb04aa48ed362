// DiscoveryCore: the logic of LAN discovery without sockets or a clock of its own (sans-IO, driven
// by `now`). It lists interfaces through an InterfaceSource, opens the ones the filter accepts on a
// BeaconTransport, sends our beacon on each at random intervals, and reports the beacons of our
// cluster it hears from other nodes. Discovery (discovery.h) drives it on an Asio timer; tests
// drive it with a manual `now`, a FakeInterfaceSource and a FakeLan.
//
// A heard beacon is a hint: the embedder (the node) decides whether to dial, and trusts the peer's
// identity only after the QUIC handshake. Beacons of another cluster, our own, malformed ones and
// ones from interfaces not in use are ignored and counted.
//
// Threading: one thread (the node's). The handler runs on it, inside handle_datagram; it must not
// destroy the DiscoveryCore.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "discovery/beacon.h"
#include "discovery/beacon_transport.h"
#include "discovery/interface.h"
#include "discovery/options.h"

namespace qc::discovery {

// Who we are, as the beacon says it.
struct LocalNode {
  identity::ClusterId cluster{};
  identity::PartialId partial{};
  std::uint16_t quic_port = 0;
};

// A beacon of our cluster from another node.
struct BeaconHeard {
  identity::PartialId partial{};
  // The sender's address and its QUIC port: where to dial. An IPv6 link-local address carries the
  // scope id (= ifindex) of the interface it was heard on.
  asio::ip::udp::endpoint quic_endpoint;
  std::uint32_t interface_id = 0;  // stable id of the interface it arrived on
  std::uint32_t ifindex = 0;       // kernel index of that interface
  std::string interface_name;
};

struct Counters {
  std::uint64_t sent = 0;               // beacons sent (per interface and send round)
  std::uint64_t send_errors = 0;        // sends that failed on every family
  std::uint64_t received = 0;           // datagrams received on the discovery port
  std::uint64_t heard = 0;              // reported to the handler
  std::uint64_t own = 0;                // our own beacons, looped back
  std::uint64_t other_cluster = 0;      // beacons of another cluster
  std::uint64_t malformed = 0;          // not a beacon, or a version we do not speak
  std::uint64_t unknown_interface = 0;  // arrived on an interface not in use
  std::uint64_t open_errors = 0;        // interfaces that could not be opened (retried)
  std::uint64_t list_errors = 0;        // failed interface listings (retried)
};

class DiscoveryCore {
 public:
  using Handler = std::function<void(const BeaconHeard&)>;

  // `source` and `transport` must outlive the core; the core installs itself as the transport's
  // receiver. kInvalidArgument-style mistakes in `options` (min > max interval, prefix length) are
  // corrected: max is raised to min, the prefix length clamped to 4..8.
  DiscoveryCore(const Options& options, const LocalNode& self, InterfaceSource& source,
                BeaconTransport& transport, Handler handler);
  ~DiscoveryCore();
  DiscoveryCore(const DiscoveryCore&) = delete;
  DiscoveryCore& operator=(const DiscoveryCore&) = delete;

  // Lists interfaces now and schedules the first beacons. Idempotent.
  void start(Timestamp now);
  // Closes every interface; nothing is sent until start() again.
  void stop();
  // Does what is due at `now`: re-lists interfaces, sends beacons.
  void handle_timeout(Timestamp now);
  // When handle_timeout should be called next (kNever when stopped).
  Timestamp next_timeout() const;
  // A datagram from the transport.
  void handle_datagram(ByteView data, const asio::ip::udp::endpoint& from, std::uint32_t ifindex);

  // The QUIC port may be known only once the endpoint is bound; later beacons carry the new one.
  void set_quic_port(std::uint16_t port);

  const Counters& counters() const { return counters_; }
  // The interfaces in use, by kernel index.
  std::vector<Interface> interfaces() const;
  // When the next beacon goes out on interface `ifindex` (kNever when not in use). For tests.
  Timestamp next_send(std::uint32_t ifindex) const;

 private:
  struct Active {
    Interface itf;
    Timestamp next_send = 0;
    unsigned sent = 0;  // beacons that went out on it (startup_beacons come faster)
  };
  void rescan(Timestamp now);
  Duration jitter(Duration lo, Duration hi);

  Options options_;
  LocalNode self_;
  InterfaceSource& source_;
  BeaconTransport& transport_;
  Handler handler_;
  std::mt19937_64 rng_;
  Bytes beacon_;
  bool started_ = false;
  Timestamp next_rescan_ = kNever;
  std::map<std::uint32_t, Active> active_;  // by ifindex
  Counters counters_;
};

}  // namespace qc::discovery
