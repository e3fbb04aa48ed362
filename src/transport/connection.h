// Connection: one QUIC connection (ngtcp2 0.12.1 + GnuTLS mutual TLS), sans IO.
//
// It never touches a socket or reads a clock. The driver (transport::Endpoint over UDP, or a
// channel over circuits later) feeds it packets with read_packet(), asks it for packets with
// write_packets(), and calls handle_expiry() at expiry(). After any call that may have produced
// work (read_packet, handle_expiry, write_stream, send_datagram, close...), the driver calls
// write_packets(); it writes at most one send quantum and paces: call again at expiry().
//
// Peer verification: the peer's chain must verify to OUR ca.crt (GnuTLS, validity included) and,
// when ConnectionSettings::expected_peer is set, its leaf must give that node id. Otherwise the
// handshake fails with a TLS alert, the refusal is logged (component "transport") and
// on_closed() reports kTlsRefused. The link is up only at on_handshake_confirmed().
//
// Threading rule: not thread-safe; one thread owns it (the node's event loop). Observer callbacks
// run inside its methods (see connection_observer.h for what they may do).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bytes.h"
#include "common/clock.h"
#include "common/result.h"
#include "transport/address.h"
#include "transport/connection_observer.h"
#include "transport/connection_settings.h"
#include "transport/stream_send_buffer.h"

namespace qc::transport {

struct ConnectionStats {
  Duration smoothed_rtt = 0;
  Duration min_rtt = 0;
  std::uint64_t cwnd = 0;
  std::uint64_t bytes_in_flight = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_dropped = 0;  // never sent: no longer fit the path
  std::uint64_t datagram_anchors = 0;   // on_datagrams_need_anchor() calls
  std::uint64_t datagrams_queued = 0;   // waiting to be sent now
  std::uint64_t pto_count = 0;
  Timestamp loss_detection_timer = 0;  // ngtcp2's clock (0/max: not armed)
  Timestamp expiry = 0;                 // when handle_expiry() is due
};

struct SendDatagramResult {
  DatagramStatus status;
  std::uint64_t id = 0;  // valid when kAccepted; matches on_datagram_acked/lost
};

class Connection {
 public:
  // How long a full congestion window with nothing ack-eliciting in flight is tolerated
  // before on_congestion_stalled(). The state cannot end by itself (nothing in flight arms a
  // timer, and nothing new may be sent), so a short limit costs nothing.
  static constexpr Duration kStallLimit = 300 * kMillisecond;

  // Starts a client connection on `path`; the first packets come from write_packets().
  static Result<std::unique_ptr<Connection>> connect(const ConnectionSettings& settings,
                                                     const Path& path, ConnectionObserver* observer,
                                                     Timestamp now);
  // Creates the server side for a client Initial `first_packet` (see is_client_initial). The
  // caller then passes the same packet to read_packet(). kProtocol if it is not an Initial.
  static Result<std::unique_ptr<Connection>> accept(const ConnectionSettings& settings,
                                                    const Path& path, ByteView first_packet,
                                                    ConnectionObserver* observer, Timestamp now);
  // True when `packet` is a client Initial that accept() would take.
  static bool is_client_initial(ByteView packet);

  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_observer(ConnectionObserver* observer) { observer_ = observer; }
  // Connection ids issued from now on are reported to `registry` with `tag`.
  void set_cid_registry(ConnectionIdRegistry* registry, std::uint64_t tag);
  // Every connection id that currently routes to us (for a server, including the client's
  // original destination id).
  std::vector<Bytes> local_cids() const;

  // ---- driving ----
  // One received UDP payload. Errors close the connection (reported through on_closed); the
  // returned Result only says whether the packet was taken.
  Result<void> read_packet(const Path& path, ByteView packet, std::uint8_t ecn, Timestamp now);
  // Writes packets (at most one send quantum, at most 64) into `sink`. `max_packet` > 0 caps
  // every packet below the path maximum (a channel over a circuit passes the circuit's current
  // room, nested-quic.md section 5); ngtcp2 pads and limits packets to it.
  void write_packets(Timestamp now, PacketSink& sink, std::size_t max_packet = 0);
  // When handle_expiry() is due (kNever when nothing is pending).
  Timestamp expiry() const;
  void handle_expiry(Timestamp now);

  // ---- streams ----
  // Opens a bidirectional stream. kLimit when the peer's stream limit is reached (retry after
  // on_streams_available()).
  Result<std::int64_t> open_bidi_stream();
  // A unidirectional stream (ConnectionSettings::max_streams_uni of the peer limits them).
  Result<std::int64_t> open_uni_stream();
  // Buffers up to stream_send_buffer unacknowledged bytes; returns how many were taken (less
  // than data.size() means back-pressure: wait for on_stream_writable()). `fin` takes effect
  // only if all of `data` was taken. kInvalidArgument for an unknown or finished stream.
  Result<std::size_t> write_stream(std::int64_t id, ByteView data, bool fin = false);
  // With ConnectionSettings::manual_stream_credit: `bytes` of stream `id` were taken by the
  // reader; the peer may send that much more (stream and connection windows).
  void consume_stream(std::int64_t id, std::size_t bytes);
  // Abandons both directions of a stream with an application error code.
  Result<void> reset_stream(std::int64_t id, std::uint64_t code);

  // ---- datagrams (RFC 9221) ----
  SendDatagramResult send_datagram(ByteView data);
  // Largest DATAGRAM payload that fits one packet on the current path now (0 before the
  // handshake or when the peer disabled DATAGRAM): path max UDP payload - 20 - DCID length -
  // 2 (packet number), capped by the peer's max_datagram_frame_size (nested-quic.md section 5).
  std::size_t datagram_room() const;
  std::size_t path_max_udp_payload() const;

  // ---- lifetime ----
  // Closes with an application error code and reason. The CONNECTION_CLOSE goes out at the
  // next write_packets(), which then reports on_closed(kLocal).
  void close(std::uint64_t app_error_code, std::string_view reason);
  bool is_closed() const { return state_ == State::kClosed; }
  bool is_handshake_confirmed() const { return confirmed_; }
  // True when the connection wants write_packets() soon (queued data, pending close).
  bool wants_write() const;

  Role role() const { return settings_.role; }
  const PeerInfo& peer() const { return peer_; }
  Path path() const;
  ConnectionStats stats() const;

 private:
  friend struct ConnectionCallbacks;
  enum class State { kHandshake, kOpen, kClosePending, kClosed };
  struct Stream {
    explicit Stream(std::size_t limit) : send(limit) {}
    StreamSendBuffer send;
    bool fin_requested = false;
    bool fin_sent = false;
    bool blocked = false;  // stream flow control: wait for extend_max_stream_data
    bool want_writable = false;
    bool active = false;  // in active_
    bool write_closed = false;
  };
  struct DatagramSlot {
    Bytes data;
    std::uint64_t id = 0;
  };

  Connection(const ConnectionSettings& settings, ConnectionObserver* observer);
  Result<void> init_tls(const std::string& local_hint);
  Result<void> create(const Path& path, ByteView first_packet, Timestamp now);
  bool verify_peer();
  Stream* stream(std::int64_t id);
  Result<std::int64_t> open_stream(bool uni);
  Stream& ensure_stream(std::int64_t id);
  void activate(std::int64_t id, Stream& s);
  // Writes one packet from the queued datagrams, streams or control frames; returns its size,
  // 0 when there is nothing to send, or an ngtcp2 error. `anchor_only`: an anchor or nothing.
  long write_one(std::uint8_t* dst, std::size_t dstlen, void* path_storage, void* pi,
                 Timestamp now, bool anchor_only = false);
  void fail(int liberr, Timestamp now);
  void write_close(Timestamp now, PacketSink& sink);
  void finish(const CloseInfo& info);
  void check_path_mtu();

  ConnectionSettings settings_;
  ConnectionObserver* observer_;
  ConnectionIdRegistry* registry_ = nullptr;
  std::uint64_t registry_tag_ = 0;
  struct Impl;
  std::unique_ptr<Impl> impl_;  // ngtcp2 + GnuTLS handles
  State state_ = State::kHandshake;
  bool completed_ = false;
  bool confirmed_ = false;
  PeerInfo peer_;
  std::string refusal_;  // why our verification refused the peer, if it did
  bool got_stateless_reset_ = false;
  Bytes original_dcid_;  // server: the client's first destination id (routes its Initials)

  std::unordered_map<std::int64_t, Stream> streams_;
  std::vector<std::int64_t> active_;  // streams with unsent data or FIN
  std::size_t rr_ = 0;

  std::vector<DatagramSlot> dgram_ring_;
  std::size_t dgram_head_ = 0;
  std::size_t dgram_count_ = 0;
  std::uint64_t next_dgram_id_ = 0;
  bool dgram_want_writable_ = false;
  // DATAGRAM packet bytes sent since the last STREAM frame (see write_one).
  std::uint64_t dgram_bytes_unanchored_ = 0;
  static constexpr std::size_t kDatagramPacketOverhead = 1 + 20 + 4 + 16 + 3;
  bool anchor_due_ = false;  // DATAGRAMs went while no timer ran: anchor by the end of the send
  // The most DATAGRAM packet bytes an anchor may leave behind it (see write_one).
  std::uint64_t unanchored_limit(std::uint64_t cwnd) const;
  Timestamp stall_since_ = 0;  // when the stuck congestion state was first seen (0: not stuck)
  std::uint64_t stall_in_flight_ = 0;  // bytes in flight at the last check while stuck
  bool stall_reported_ = false;
  void check_stall(Timestamp now);
  Duration stall_limit() const;  // kStallLimit, or 3 PTOs on a slow path

  std::uint64_t close_code_ = 0;
  std::string close_reason_;
  bool close_is_transport_ = false;
  std::uint8_t close_tls_alert_ = 0;
  CloseInfo close_info_;
  std::size_t last_path_max_ = 0;
  ConnectionStats counters_;
};

}  // namespace qc::transport
