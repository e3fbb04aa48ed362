// ChannelManager: the node's channels, one per peer, keyed by peer node id (DESIGN.md layer 7).
//
// How the Node embeds it (all on the event-loop thread):
//   circuit::DataPlane dp(io);  ChannelManager mgr(config, dp, front_end_observer);
//   dp.set_receiver(&mgr);
//   routing CircuitUp   -> mgr.on_circuit_up(remote, session, label, now)   (also dp.add_local)
//   routing CircuitDown -> mgr.on_circuit_down(session, label, now)          (also dp.remove_local)
//   session datagrams   -> dp.on_datagram(...); after each receive batch: mgr.flush(now)
//   timers              -> arm at mgr.next_deadline(); call mgr.on_timer(now)
//   front ends          -> mgr.open(peer, now) on first use; then the Channel's stream and
//                          datagram calls, followed by mgr.flush(now)
//   on_want_circuits    -> CircuitBuilder: build more circuits to that peer
// On an asio loop, ChannelPump (channel_pump.h) does the flushes and the timer.
// Roles: the smaller node id is the QUIC client, so simultaneous opens make one channel. A
// channel with no open stream and no traffic for idle_timeout is closed and forgotten; the next
// open() makes a new one. A peer that restarted (it lost its channel) is noticed when, on a
// channel ready for over kRestartGuard, a new client Initial (we are the server) or a wake (we are
// the client) arrives: the old channel is closed and a new one made. The manager also answers path
// probes (stats packets) on every circuit it ends, channel or not.
//
// Threading rule: single-threaded. Observer callbacks run inside manager calls; the observer may
// call open() and Channel methods but must not destroy the manager.
#pragma once

#include <map>
#include <memory>

#include "channel/channel.h"
#include "circuit/data_plane.h"

namespace qc::channel {

// How long after its handshake a channel ignores Initials and wakes (late copies from its own
// opening, reordered across paths) instead of taking them for a restarted peer.
constexpr Duration kRestartGuard = kSecond;

class ChannelManager final : public circuit::CircuitReceiver {
 public:
  ChannelManager(const ChannelConfig& config, circuit::DataPlane& data_plane,
                 ChannelObserver& observer);
  ~ChannelManager() override;
  ChannelManager(const ChannelManager&) = delete;
  ChannelManager& operator=(const ChannelManager&) = delete;

  // A circuit this node ends is ESTABLISHED / gone.
  void on_circuit_up(const NodeId& remote, circuit::SessionId session, circuit::Label label,
                     Timestamp now);
  void on_circuit_down(circuit::SessionId session, circuit::Label label, Timestamp now);

  // The channel to `peer`, created and started when there is none (first use). Never null; a
  // channel that cannot open reports on_channel_closed (no circuit, room too small, timeout).
  Channel* open(const NodeId& peer, Timestamp now);
  // The channel to `peer`, or null.
  Channel* find(const NodeId& peer);
  std::size_t size() const { return channels_.size(); }
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [peer, ch] : channels_) f(*ch);
  }

  // circuit::CircuitReceiver
  void on_circuit_packet(circuit::SessionId session, circuit::Label label, circuit::PacketType type,
                         ByteView body, Timestamp now) override;
  void on_session_writable(circuit::SessionId session, Timestamp now) override;

  // Writes every channel's pending packets; forgets closed channels.
  void flush(Timestamp now);
  Timestamp next_deadline() const;
  void on_timer(Timestamp now);

 private:
  Channel* create(const NodeId& peer, Timestamp now);
  void sweep();

  ChannelConfig config_;
  circuit::DataPlane& dp_;
  ChannelObserver& observer_;
  std::map<NodeId, std::unique_ptr<Channel>> channels_;
  std::map<std::pair<circuit::SessionId, circuit::Label>, NodeId> circuits_;
};

}  // namespace qc::channel
