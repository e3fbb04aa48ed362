// The interfaces a Connection talks to: its observer (the layer above), the packet sink (the IO
// below) and the connection-id registry (the endpoint that routes packets by connection id).
//
// Threading rule: all calls happen on the thread that drives the Connection, from inside
// Connection methods. An observer may call the Connection's buffering methods (write_stream,
// send_datagram, open_bidi_stream, close, ...) from a callback, but must not destroy it there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "identity/identity.h"
#include "transport/address.h"

namespace qc::transport {

// Why a connection ended.
struct CloseInfo {
  enum class Kind {
    kLocal,        // we closed it (close() or a local error)
    kPeer,         // the peer sent CONNECTION_CLOSE
    kIdleTimeout,  // nothing heard for the idle timeout
    kHandshakeTimeout,
    kTlsRefused,  // the handshake failed (certificate refused, alert)
  };
  Kind kind = Kind::kLocal;
  bool application = false;  // error_code is an application code (else a QUIC transport code)
  std::uint64_t error_code = 0;
  std::string reason;
  std::string to_string() const;
};

// What the handshake proved about the peer.
struct PeerInfo {
  identity::NodeId node_id{};
  std::vector<Bytes> chain_der;  // leaf first, as the peer sent it
};

enum class DatagramStatus {
  kAccepted,     // queued; it will be sent (or reported lost)
  kBlocked,      // the queue is full: retry after on_datagrams_writable()
  kTooBig,       // larger than datagram_room(): never fits on this path
  kUnsupported,  // the peer did not enable DATAGRAM (or the handshake is not done)
  kInvalid,      // empty datagram (ngtcp2 0.12 cannot send one) or connection closed
};
const char* datagram_status_name(DatagramStatus s);

class ConnectionObserver {
 public:
  virtual ~ConnectionObserver() = default;
  // The handshake is confirmed and the peer's chain verified to our CA. Called once.
  virtual void on_handshake_confirmed(const PeerInfo& peer) = 0;
  // Bytes of stream `id` in order; `fin` marks the end. The data is consumed (flow-control
  // credit is returned) when this returns: copy what you keep.
  virtual void on_stream_data(std::int64_t id, ByteView data, bool fin) = 0;
  // The peer opened stream `id`.
  virtual void on_stream_opened(std::int64_t /*id*/) {}
  // The peer reset stream `id` (RESET_STREAM) with `code`.
  virtual void on_stream_reset(std::int64_t /*id*/, std::uint64_t /*code*/) {}
  // Stream `id` is fully closed (both directions); its send buffer is freed.
  virtual void on_stream_closed(std::int64_t /*id*/, std::uint64_t /*code*/) {}
  // write_stream() on `id` accepted less than asked before; there is room again.
  virtual void on_stream_writable(std::int64_t /*id*/) {}
  // The peer raised our bidi stream limit after open_bidi_stream() failed with kLimit.
  virtual void on_streams_available() {}
  virtual void on_datagram(ByteView /*data*/) {}
  virtual void on_datagram_acked(std::uint64_t /*id*/) {}
  // Declared lost by the peer's ACKs, or dropped before sending (it no longer fit the path).
  virtual void on_datagram_lost(std::uint64_t /*id*/) {}
  // send_datagram() said kBlocked before; the queue has room again.
  virtual void on_datagrams_writable() {}
  // DATAGRAMs need an anchor (the rules are in Connection::write_one). ngtcp2 0.12.1 does not
  // count DATAGRAM frames as PTO-eliciting (fixed upstream in 0.14, "Make DATAGRAM
  // PTO-eliciting"): when the last packets in flight carry only DATAGRAMs and are lost, nothing
  // fires, and once they fill the congestion window the connection never sends again. The owner
  // should write a few bytes of stream data now; that frame arms the timer. Called only when no
  // stream data is waiting and the connection's flow control lets some go: a few times per
  // round trip at most.
  virtual void on_datagrams_need_anchor() {}
  // The congestion window has been full for Connection::kStallLimit (3 PTOs on a slow path),
  // with no byte leaving it and nothing PTO-eliciting in flight, so nothing will ever drain it
  // (see on_datagrams_need_anchor). The connection cannot recover; the owner should replace it.
  virtual void on_congestion_stalled() {}
  // The path's largest UDP payload changed (PMTUD, migration); `datagram_room` is the new
  // largest DATAGRAM payload.
  virtual void on_path_mtu_changed(std::size_t /*udp_payload*/, std::size_t /*datagram_room*/) {}
  // The connection is over. Called once; the Connection may be destroyed after it returns.
  virtual void on_closed(const CloseInfo& info) = 0;
};

// Where outgoing packets go. The connection asks for a buffer, writes one packet into it and
// commits it with its path. A buffer stays valid and unchanged until the next commit().
class PacketSink {
 public:
  virtual ~PacketSink() = default;
  virtual std::span<std::uint8_t> buffer(std::size_t max_len) = 0;
  virtual void commit(const Path& path, std::size_t len, std::uint8_t ecn) = 0;
};

// Told about every connection id the connection issues or retires, so the endpoint can route
// incoming packets (and migrated paths) to it.
class ConnectionIdRegistry {
 public:
  virtual ~ConnectionIdRegistry() = default;
  virtual void on_cid_issued(std::uint64_t tag, ByteView cid) = 0;
  virtual void on_cid_retired(std::uint64_t tag, ByteView cid) = 0;
};

}  // namespace qc::transport
