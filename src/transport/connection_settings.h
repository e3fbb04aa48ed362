// Everything a Connection is configured with. Plain value type.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.h"
#include "identity/identity.h"
#include "transport/tls_context.h"

namespace qc::transport {

enum class Role { kClient, kServer };
enum class CongestionControl { kReno, kCubic, kBbr, kBbr2 };

struct ConnectionSettings {
  Role role = Role::kClient;
  // Our chain, key and trusted CA. Required.
  std::shared_ptr<const TlsContext> tls;
  // ALPN protocol id; both sides must offer the same one (mandatory match).
  std::string alpn = "qc-link/1";
  // Client: the server name sent as SNI ("<text id>.<suffix>" when the peer is known; any name
  // otherwise). Not used for verification: peers are checked by chain and node id.
  std::string sni = "peer.fuse";
  // When set, a peer whose leaf gives another node id is refused during the handshake.
  std::optional<identity::NodeId> expected_peer;

  CongestionControl cc = CongestionControl::kCubic;
  // 0 disables the idle timeout (not recommended). Effective value is the smaller of both sides'.
  Duration idle_timeout = 30 * kSecond;
  // Send a PING after this much silence (keeps NAT bindings and the idle timer alive); 0 = off.
  Duration keep_alive = 5 * kSecond;
  Duration handshake_timeout = 10 * kSecond;
  // Length of the connection ids we issue (8 keeps DATAGRAM room high; see DESIGN.md).
  std::size_t cid_length = 8;
  // Stateless reset tokens are derived from this secret and the connection id (so a restarted
  // node with the same secret can reset its peers' stale connections); random when unset.
  std::optional<std::array<std::uint8_t, 32>> reset_secret;

  // Largest UDP payload we send. Over UDP: 1452 with PMTUD on. Over a circuit (issue 5): the
  // circuit room (e.g. 1402) with pmtud = false and payload_shaping = false.
  std::size_t max_tx_udp_payload_size = 1452;
  bool pmtud = true;
  // true: start at 1200 bytes and grow by PMTUD (ngtcp2's default). false: use
  // max_tx_udp_payload_size from the first packet.
  bool payload_shaping = true;

  // Flow control: initial windows and the auto-tuning ceilings (bytes).
  std::uint64_t initial_max_data = 16u << 20;
  std::uint64_t initial_max_stream_data = 8u << 20;
  std::uint64_t max_window = 64u << 20;
  std::uint64_t max_stream_window = 32u << 20;
  std::uint64_t max_streams_bidi = 64;
  std::uint64_t max_streams_uni = 16;
  // false: received stream data is credited back to the peer (flow control) as soon as the
  // observer saw it. true: the owner credits it with Connection::consume_stream() once it has
  // really taken the bytes, so a slow reader holds the sender back instead of a buffer growing.
  bool manual_stream_credit = false;

  // Largest DATAGRAM frame we accept (0 turns RFC 9221 off for the peer's sends).
  std::uint64_t max_datagram_frame_size = 65535;
  // Outgoing DATAGRAMs queued inside the connection before send_datagram() says kBlocked.
  std::size_t datagram_queue = 256;
  // Bytes a stream may hold unacknowledged before write_stream() stops accepting.
  std::size_t stream_send_buffer = 8u << 20;
};

}  // namespace qc::transport
