// Channel: the end-to-end QUIC connection (ALPN qc-channel/1, mutual TLS on the nodes'
// certificates, expected peer = the circuit's remote) between this node and one peer, whose
// packets travel as circuit data packets instead of UDP (DESIGN.md layer 7). Relays see only
// the channel's ciphertext.
//
// Roles: the node with the smaller node id is the QUIC client. The other side, when it wants
// the channel first, sends wake packets on its circuits and the client then connects.
//
// Multipath: every established circuit to the peer is a ChannelPath. Packets go on the best
// healthy path (lowest probe RTT, with hysteresis); each path is probed every probe_interval
// with a stats packet the peer answers. A path fails when probe_loss_limit probes in a row go
// unanswered, when its session is closed, or when its circuit goes down; later packets simply
// go on another path and QUIC recovers what was lost. Sizes: the inner QUIC packet size is the
// smallest of ChannelConfig::max_packet, the paths' first-hop rooms and the relays' reported
// rooms, with inner PMTUD off; a handshake starts only on a path with room >= 1200.
//
// Threading rule: single-threaded (the node's event loop); owned by a ChannelManager.
#pragma once

#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "channel/channel_config.h"
#include "channel/channel_observer.h"
#include "channel/path.h"
#include "circuit/data_plane.h"
#include "transport/connection.h"

namespace qc::channel {

class Channel final : public transport::ConnectionObserver, private transport::PacketSink {
 public:
  Channel(const ChannelConfig& config, circuit::DataPlane& data_plane, ChannelObserver& observer,
          const NodeId& peer, Timestamp now);
  ~Channel() override;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  const NodeId& peer() const { return peer_; }
  bool is_client() const { return client_; }
  bool is_ready() const { return ready_; }
  // When the handshake was confirmed (valid when is_ready()).
  Timestamp ready_at() const { return ready_at_; }
  // Closed (or failed); the manager destroys it. error() says why.
  bool is_closed() const { return closed_; }
  const std::optional<Error>& error() const { return error_; }

  // ---- paths (from routing CircuitUp / CircuitDown) ----
  void add_path(circuit::SessionId session, circuit::Label label, Timestamp now);
  void remove_path(circuit::SessionId session, circuit::Label label, Timestamp now);
  const std::vector<ChannelPath>& paths() const { return paths_; }
  std::size_t healthy_paths() const;
  // Index in paths() of the path in use, if any.
  std::optional<std::size_t> current_path() const { return current_; }
  // Channel packet size used now (0 before the connection exists).
  std::size_t packet_size() const { return packet_size_; }

  // Asks for the channel to be opened (first use): a client connects as soon as a path has the
  // room, a server wakes its peer. Failure is reported through on_channel_closed.
  void start(Timestamp now);

  // ---- driving (from the ChannelManager) ----
  void on_packet(circuit::SessionId session, circuit::Label label, circuit::PacketType type,
                 ByteView body, Timestamp now);
  void on_session_writable(circuit::SessionId session, Timestamp now);
  Timestamp next_deadline() const;
  void on_timer(Timestamp now);
  // Writes what the connection has to send (after any call that may have produced work).
  void flush(Timestamp now);

  // ---- front-end API (errors as values; kClosed before ready or after close) ----
  Result<std::int64_t> open_stream();
  // Returns the bytes taken; fewer than asked means wait for on_stream_writable.
  Result<std::size_t> write_stream(std::int64_t id, ByteView data, bool fin);
  Result<void> reset_stream(std::int64_t id, std::uint64_t code);
  // With ChannelConfig::manual_stream_credit: the front end took `bytes` of stream `id`.
  void consume_stream(std::int64_t id, std::size_t bytes);
  // kTooLarge when data exceeds datagram_room() (never silently dropped), kLimit when the queue
  // is full (retry), kClosed when not ready.
  Result<void> send_datagram(ByteView data);
  std::size_t datagram_room() const;
  void close(Timestamp now, const std::string& reason);
  transport::ConnectionStats stats() const;
  std::uint64_t packets_dropped() const { return packets_dropped_; }

  // transport::ConnectionObserver
  void on_handshake_confirmed(const transport::PeerInfo& peer) override;
  void on_stream_data(std::int64_t id, ByteView data, bool fin) override;
  void on_stream_opened(std::int64_t id) override;
  void on_stream_reset(std::int64_t id, std::uint64_t code) override;
  void on_stream_closed(std::int64_t id, std::uint64_t code) override;
  void on_stream_writable(std::int64_t id) override;
  void on_streams_available() override {}
  void on_datagram(ByteView data) override;
  void on_datagrams_need_anchor() override;
  void on_congestion_stalled() override;
  void on_closed(const transport::CloseInfo& info) override;

 private:
  // transport::PacketSink: one channel packet into a circuit data packet on the current path.
  std::span<std::uint8_t> buffer(std::size_t max_len) override;
  void commit(const transport::Path& path, std::size_t len, std::uint8_t ecn) override;

  ChannelPath* find_path(circuit::SessionId session, circuit::Label label);
  std::size_t path_room(const ChannelPath& p);
  void choose_path();
  void probe(Timestamp now);
  void on_stats(ChannelPath& p, ByteView body, Timestamp now);
  void try_connect(Timestamp now);
  void accept(ByteView initial, Timestamp now);
  transport::ConnectionSettings settings(transport::Role role, std::size_t packet) const;
  void fail(Errc code, const std::string& message);
  void check_want_circuits(Timestamp now);

  ChannelConfig config_;
  circuit::DataPlane& dp_;
  ChannelObserver& observer_;
  NodeId peer_;
  bool client_;
  bool started_ = false;
  Timestamp start_time_ = 0;
  bool ready_ = false;
  Timestamp ready_at_ = 0;
  bool closed_ = false;
  std::optional<Error> error_;
  std::unique_ptr<transport::Connection> conn_;
  std::vector<ChannelPath> paths_;
  std::optional<std::size_t> current_;
  std::size_t packet_size_ = 0;
  Timestamp next_probe_ = 0;
  std::uint64_t probe_seq_ = 0;
  Timestamp last_activity_ = 0;
  Timestamp last_want_ = 0;
  bool want_asked_ = false;
  std::unordered_set<std::int64_t> open_streams_;
  // Our unidirectional stream for anchors (see on_datagrams_need_anchor); -1: not opened yet.
  // Unidirectional streams are never offered to the observer: each side uses one for this.
  std::int64_t anchor_stream_ = -1;
  Bytes out_;  // header room + one packet
  std::uint64_t packets_dropped_ = 0;
  Timestamp now_ = 0;  // time of the call being served (for commit)
};

}  // namespace qc::channel
