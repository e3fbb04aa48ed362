// VpnRouter: the sans-IO glue between the TUN device and the mesh (issue 7, VPN mode).
//
//  TUN -> mesh: pump_tun() reads packets; each is parsed strictly, and only a destination in our
//    cluster /48 other than ourselves enters the mesh, as one DATAGRAM on the channel to the node
//    the address names. While that channel opens, packets wait in a per-peer FIFO bounded by
//    `queue_packets` (and at most `max_pending_peers` peers wait at once); a packet that does not
//    fit is dropped and counted. A packet larger than the path carries is answered with ICMPv6
//    Packet Too Big; a peer the mesh reports unreachable (at once, or later for queued packets, or
//    after `queue_timeout`) with ICMPv6 Destination Unreachable. Nothing is dropped uncounted.
//  mesh -> TUN: on_mesh_datagram() checks the packet, drops it (counted) unless its source is the
//    sending peer's own address (anti-spoofing) and its destination is our address, and writes it
//    to the TUN. On a TUN that takes TCP super-packets (TunDevice::tcp_gso) it is held instead,
//    and flush_tun() writes what was held with consecutive TCP segments merged (TcpCoalescer):
//    the caller calls it once the receive batch that delivered them is done.
//
// Time is a value: callers pass `now`; next_deadline() says when on_timeout() is due.
// Threading: one thread (the node's event loop) calls everything; TunDevice and MeshPort are used
// but not owned and must outlive the router.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/token_bucket.h"
#include "identity/identity.h"
#include "tun/icmpv6.h"
#include "tun/inbound_filter.h"
#include "tun/ipv6_packet.h"
#include "tun/mesh_port.h"
#include "tun/tcp_coalescer.h"
#include "tun/tun_device.h"

namespace qc::tun {

// Every packet the router did not deliver is in exactly one of the drop counters.
struct VpnCounters {
  // TUN -> mesh
  std::uint64_t tun_read = 0;         // packets read from the TUN
  std::uint64_t tun_malformed = 0;    // dropped: not a valid IPv6 packet
  std::uint64_t tun_not_cluster = 0;  // dropped: destination outside the cluster /48
  std::uint64_t tun_to_self = 0;      // dropped: destination is our own address
  std::uint64_t mesh_sent = 0;        // handed to a channel
  std::uint64_t queued = 0;           // entered a wait queue (sent or dropped later)
  std::uint64_t queue_full = 0;       // dropped: the peer's queue or the pending-peer table full
  std::uint64_t too_big = 0;          // dropped: larger than the path; answered with PTB
  std::uint64_t unreachable = 0;      // dropped: peer unreachable; answered with ICMPv6 unreach
  std::uint64_t queue_expired = 0;    // dropped: waited longer than queue_timeout (ICMPv6 sent)
  std::uint64_t icmp_sent = 0;        // ICMPv6 errors written to the TUN
  std::uint64_t icmp_suppressed = 0;  // errors not sent (RFC 4443: never answer an error, ...)
  std::uint64_t icmp_rate_limited = 0;  // errors not sent: over the ICMPv6 error rate (both ways)
  // mesh -> TUN
  std::uint64_t mesh_received = 0;     // datagrams received from peers
  std::uint64_t mesh_malformed = 0;    // dropped: not a valid IPv6 packet
  std::uint64_t mesh_spoofed = 0;      // dropped: source is not the sending peer's address
  std::uint64_t mesh_not_for_us = 0;   // dropped: destination is not our address
  std::uint64_t mesh_filtered = 0;     // dropped: not allowed by the expose rules (InboundFilter)
  std::uint64_t tun_written = 0;       // packets delivered to the TUN (segments of a merged write
                                       // count one each; not ICMPv6)
  std::uint64_t tun_gso_writes = 0;    // merged writes: TCP super-packets written
  std::uint64_t tun_gso_segments = 0;  // the segments in them (also in tun_written)
  std::uint64_t tun_write_errors = 0;  // packets (segments) the TUN refused, deliveries and ICMPv6
  std::uint64_t tun_gso_refused = 0;   // 1 once the device refused a super-packet: merging is off  // writes the TUN refused (deliveries and ICMPv6)
};

class VpnRouter {
 public:
  struct Config {
    identity::Ipv6 self{};                  // our node address (the cluster is its /48)
    std::size_t queue_packets = 64;         // per peer waiting for a channel
    std::size_t max_pending_peers = 256;    // peers with a non-empty wait queue
    Duration queue_timeout = 10 * kSecond;  // queued packets older than this are unreachable
    std::size_t read_batch = 64;            // packets pump_tun() reads per call at most
    // The expose rules for packets from the mesh (nullopt: everything addressed to us passes).
    std::optional<InboundFilter::Config> filter;
    // ICMPv6 errors are rate-limited (RFC 4443 2.4(f)): at most `icmp_burst` at once, then
    // `icmp_per_second`, in each direction: errors written to the TUN, and "administratively
    // prohibited" answers sent into the mesh (a peer flooding refused packets must not turn this
    // node into a reflector). Packet Too Big is never limited, as in Linux's default ratemask:
    // path MTU discovery depends on it. The burst covers one peer's full wait queue.
    double icmp_per_second = 100;
    double icmp_burst = 64;
  };

  VpnRouter(Config config, TunDevice& tun, MeshPort& mesh);

  // Reads up to `read_batch` packets from the TUN and routes each (see the file comment). Returns
  // how many were read; call again while it returns `read_batch` (fairness with other work).
  std::size_t pump_tun(Timestamp now);
  // Routes one packet as if read from the TUN (pump_tun() calls this).
  void on_tun_packet(Timestamp now, ByteView packet);

  // One datagram the channel from `peer` delivered. A packet the expose rules refuse is dropped
  // (counted) and answered with ICMPv6 "administratively prohibited" through the mesh, so the
  // peer's application fails at once.
  void on_mesh_datagram(const identity::PartialId& peer, ByteView packet, Timestamp now);
  // Packets held for flush_tun() (only on a TUN with tcp_gso()); until the flush they are in
  // mesh_received and in no outcome counter.
  bool tun_pending() const { return !coalescer_.empty(); }
  std::size_t tun_held() const { return coalescer_.held(); }
  // Writes the held packets, consecutive TCP segments of one connection merged. A device that
  // refuses a super-packet as unsupported gets its segments one by one (with their checksums),
  // and no more merges.
  void flush_tun();

  // The channel to `peer` can take datagrams: the queued packets go, oldest first (those the
  // channel still refuses stay queued).
  void on_peer_ready(const identity::PartialId& peer, Timestamp now);
  // The routing core reports `peer` unreachable: its queued packets are answered with ICMPv6
  // Destination Unreachable (`code`) and dropped.
  void on_peer_unreachable(const identity::PartialId& peer, Timestamp now,
                           UnreachableCode code = UnreachableCode::kAddressUnreachable);

  // When on_timeout() should next run (kNever when no packet waits).
  Timestamp next_deadline() const;
  // Expires queued packets older than queue_timeout (ICMPv6 address unreachable, counted).
  void on_timeout(Timestamp now);

  const VpnCounters& counters() const { return counters_; }
  // Packets waiting for `peer`'s channel now.
  std::size_t queued_for(const identity::PartialId& peer) const;

 private:
  struct Waiting {
    Timestamp since = 0;
    Bytes packet;
  };
  // Sends or, for kNotReady, returns false so the caller can queue; handles the rest.
  bool try_send(Timestamp now, const identity::PartialId& peer, const Ipv6Header& h,
                ByteView packet);
  void enqueue(Timestamp now, const identity::PartialId& peer, ByteView packet);
  void answer_unreachable(Timestamp now, ByteView packet, UnreachableCode code);
  // Writes an ICMPv6 error to the TUN; `limited` errors take a token of tun_icmp_ first.
  void write_icmp(Timestamp now, const std::optional<Bytes>& icmp, bool limited = true);

  Config config_;
  TunDevice& tun_;
  MeshPort& mesh_;
  std::map<identity::PartialId, std::deque<Waiting>> queues_;
  std::vector<std::uint8_t> read_buf_;
  VpnCounters counters_;
  std::optional<InboundFilter> filter_;
  TokenBucket tun_icmp_;   // errors written to the TUN
  TokenBucket mesh_icmp_;  // errors sent into the mesh
  TcpCoalescer coalescer_;  // deliveries held until flush_tun()
  // Delivers one packet with write() and counts it.
  void write_delivery(ByteView packet);
};

}  // namespace qc::tun
