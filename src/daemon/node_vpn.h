// Private to the Node: VPN mode (issue 7), the TUN front end on the node's channels.
//
// Node::Vpn is the tun::MeshPort the VpnRouter sends through: each IPv6 packet read from the TUN
// rides as one DATAGRAM on the channel to the peer its destination address names (channels are
// keyed by node id; the address holds the partial id, which circuits and channels resolve to the
// node id). It also feeds the router the node's events:
//
//   TUN readable              -> VpnRouter::pump_tun (paused while a channel's datagram queue is
//                                full, so the kernel's TUN queue holds the backlog; at most
//                                kMaxReadPause, so one stuck channel cannot hold up the others)
//   channel DATAGRAM 0x6_     -> VpnRouter::on_mesh_datagram (anti-spoofing happens there)
//   want_peer(P)              -> routing want_peer + an established circuit or, later, CircuitUp
//                                -> ChannelManager::open
//   channel ready             -> VpnRouter::on_peer_ready (and the TUN MTU may grow)
//   routing Unreachable(P)    -> VpnRouter::on_peer_unreachable (ICMPv6 to the applications); P
//                                is then answered unreachable at once for kUnreachableHold
//   channel closed, packets   -> reopened, or unreachable when no path can carry it
//   waiting
//   after every channel flush -> peers whose datagram queue was full are retried
//
// Answers to the VpnRouter are posted to the event loop, never made from inside a MeshPort call.
// Threading rule: the node's event-loop thread only, like the Node.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <utility>

#include "daemon/node_internal.h"
#include "tun/linux_tun.h"
#include "tun/mesh_port.h"
#include "tun/vpn_router.h"

namespace qc::daemon {

// How long a peer the routing core reported unreachable is answered unreachable without a new
// search (a burst of packets to a dead address floods the mesh once, not once per packet).
constexpr Duration kUnreachableHold = 3 * kSecond;
// Reading the TUN pauses while a channel's datagram queue is full, at most this long: then it
// resumes and that peer's packets wait in its VpnRouter queue (bounded) instead.
constexpr Duration kMaxReadPause = kSecond;

struct Node::Vpn final : public tun::MeshPort {
  explicit Vpn(Node& n) : node(n) {}
  ~Vpn() override;
  Vpn(const Vpn&) = delete;
  Vpn& operator=(const Vpn&) = delete;

  // Opens the TUN device and starts reading it. Errors say what to do (permissions, no
  // /dev/net/tun, a name in use); the node carries on without VPN mode.
  Result<void> start();
  // Stops reading and cancels timers; the device goes with the object. Idempotent.
  void stop();

  // tun::MeshPort
  SendResult send_datagram(const identity::PartialId& peer, ByteView packet) override;
  void want_peer(const identity::PartialId& peer) override;

  // Node events.
  void on_circuit_up(const identity::NodeId& remote);
  void on_unreachable(const identity::PartialId& peer);
  void on_channel_ready(const identity::NodeId& peer);
  void on_channel_closed(const identity::NodeId& peer, const Error& why);
  void on_datagram(const identity::NodeId& peer, ByteView packet);
  void after_flush();

  // For `qc status`: device, MTU and the VpnRouter counters.
  nlohmann::json status() const;

 private:
  void wait_readable();
  void read_tun();
  void arm_timer();
  channel::Channel* open_channel(const identity::NodeId& peer);
  void maybe_raise_mtu(const channel::Channel& ch);
  // Posts `fn` to the loop, dropped if the Vpn is gone by then.
  void later(std::function<void()> fn);

  Node& node;
  std::unique_ptr<tun::LinuxTun> tun_;
  std::unique_ptr<tun::VpnRouter> router_;
  std::unique_ptr<asio::posix::stream_descriptor> fd_;
  std::unique_ptr<asio::steady_timer> timer_;
  Timestamp timer_at_ = kNever;
  // Peers' node ids by the partial id in their address (from circuits and channels).
  std::map<identity::PartialId, identity::NodeId> known_;
  // Peers want_peer() asked for, not yet answered ready or unreachable.
  std::set<identity::PartialId> wanted_;
  // Peers whose channel refused a datagram (its queue was full): retried after a flush.
  std::set<identity::PartialId> busy_;
  // Peers the routing core reported unreachable, until when.
  std::map<identity::PartialId, Timestamp> unreachable_until_;
  bool waiting_ = false;        // an async_wait on the TUN is outstanding
  bool tun_flush_posted_ = false;  // a VpnRouter::flush_tun() is posted to the loop
  Timestamp paused_since_ = 0;  // reading paused for a busy channel since (0: not paused)
  bool stopped_ = false;
  std::size_t read_batch_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::daemon
