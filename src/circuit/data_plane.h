// DataPlane: forwards circuit packets at a relay and delivers the ones for circuits this node
// ends (DESIGN.md layer 6). The node calls it from its sessions' callbacks:
//   SessionCallbacks::on_datagram            -> on_datagram(session, bytes, now)
//   SessionCallbacks::on_datagrams_writable  -> on_datagrams_writable(session, now)
//   session closed                           -> on_session_closed(session)
//   routing CircuitUp / CircuitDown          -> add_local / remove_local (and the channel layer)
//
// A relay looks the incoming label up with CircuitIo::forward (O(1)), rewrites the label (in a
// scratch buffer, one copy) and sends on the next session, never looking into data bodies. It
// touches each circuit at most every touch_interval. Unknown labels and malformed packets are
// dropped and counted. Push-back: when the next session says kBlocked, the packet goes into a
// bounded per-session queue that on_datagrams_writable drains in order; only when that queue is
// full is a packet dropped (counted). The queue is deep (default 1024) because the channel's
// inner cubic collapses under small relay queues (notes/nested-quic.md section 4).
//
// Endpoint side: packets on (session, label) registered with add_local go to the
// CircuitReceiver; send() puts a packet on such a circuit through the same queues.
//
// Threading rule: single-threaded (the node's event loop). Not reentrant: CircuitIo and the
// receiver must not call back into on_datagram from inside a call.
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "circuit/circuit_io.h"

namespace qc::circuit {

struct DataPlaneConfig {
  std::size_t queue_limit = 1024;  // datagrams per next-hop session
  Duration touch_interval = kSecond;
};

struct DataPlaneStats {
  std::uint64_t forwarded = 0;
  std::uint64_t forwarded_bytes = 0;
  std::uint64_t delivered = 0;
  std::uint64_t sent_local = 0;
  std::uint64_t unknown_label = 0;  // no circuit (unknown, expired, not yet established)
  std::uint64_t malformed = 0;
  std::uint64_t queued = 0;        // packets that waited in a push-back queue
  std::uint64_t queue_drops = 0;   // push-back queue full
  std::uint64_t too_big = 0;       // did not fit the next session's DATAGRAM room
  std::uint64_t closed_drops = 0;  // next session gone
  std::uint64_t stats_inserted = 0;
};

// Receives packets of circuits this node ends.
class CircuitReceiver {
 public:
  virtual ~CircuitReceiver() = default;
  virtual void on_circuit_packet(SessionId session, Label label, PacketType type, ByteView body,
                                 Timestamp now) = 0;
  // The push-back queue toward `session` drained below half; sending may resume.
  virtual void on_session_writable(SessionId /*session*/, Timestamp /*now*/) {}
};

class DataPlane {
 public:
  DataPlane(CircuitIo& io, const DataPlaneConfig& config = {});
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  void set_receiver(CircuitReceiver* receiver) { receiver_ = receiver; }
  void add_local(SessionId session, Label label);
  void remove_local(SessionId session, Label label);
  bool is_local(SessionId session, Label label) const;

  void on_datagram(SessionId session, ByteView packet, Timestamp now);
  void on_datagrams_writable(SessionId session, Timestamp now);
  // Drops the queue toward a closed session.
  void on_session_closed(SessionId session);

  // Sends one packet on a local circuit. kSent also covers "queued behind earlier packets";
  // kBlocked means the queue is full and the packet was NOT taken; kTooBig means it can never
  // fit (see room()); kClosed means the session is gone.
  SendStatus send(SessionId session, Label label, PacketType type, ByteView body);
  // Largest body a packet on (session, label) may carry now: session room - header; 0 if down.
  std::size_t room(SessionId session, Label label);
  // True while the queue toward `session` is under half full (a sender may write a burst).
  bool can_send(SessionId session) const;
  std::size_t queue_length(SessionId session) const;
  // Packets dropped toward `session` (queue full or too big) since its queue was created.
  std::uint64_t queue_drops(SessionId session) const;

  const DataPlaneStats& stats() const { return stats_; }
  const DataPlaneConfig& config() const { return config_; }

 private:
  struct Queue {
    std::deque<Bytes> packets;
    std::uint64_t drops = 0;
    bool notify = false;  // tell the receiver when it drains
  };
  struct Key {
    SessionId session;
    Label label;
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>()(k.session * 0x9e3779b97f4a7c15ull ^ k.label);
    }
  };
  SendStatus send_or_queue(SessionId session, ByteView packet);
  void maybe_touch(SessionId session, Label label, Timestamp now);
  void add_hop_stats(SessionId next, Label next_label, PacketView in, Bytes& out);

  CircuitIo& io_;
  DataPlaneConfig config_;
  CircuitReceiver* receiver_ = nullptr;
  std::unordered_set<Key, KeyHash> local_;
  std::unordered_map<Key, Timestamp, KeyHash> touched_;
  std::unordered_map<SessionId, Queue> queues_;
  Timestamp last_prune_ = 0;
  Bytes scratch_;
  DataPlaneStats stats_;
};

}  // namespace qc::circuit
