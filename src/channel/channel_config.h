// Settings shared by every channel of a node. Plain value type.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/clock.h"
#include "identity/identity.h"
#include "transport/connection_settings.h"
#include "transport/tls_context.h"

namespace qc::channel {

using NodeId = identity::NodeId;

// A QUIC Initial needs a 1200-byte UDP payload: a path whose circuit room is below this cannot
// carry a channel handshake (notes/nested-quic.md section 5).
constexpr std::size_t kMinChannelPacket = 1200;

struct ChannelConfig {
  NodeId self{};                                     // our node id (decides the QUIC roles)
  std::shared_ptr<const transport::TlsContext> tls;  // the node's chain, key and CA
  std::string alpn = "qc-channel/1";
  // Largest channel packet (inner QUIC UDP payload). The effective size is the smallest of this,
  // the first hop's circuit room and every relay's reported room. 1410 = the room of a session
  // on a 1500-byte link (path max 1444 after ngtcp2 0.12's PMTUD - 20 - 8 (session CID) - 3
  // (packet number of up to 3 bytes, used from 32768 packets in flight)) - 3 bytes of circuit
  // header. The size is fixed for the channel's life, so a cap at what ordinary links carry keeps
  // a channel able to move to any ordinary path.
  std::size_t max_packet = 1410;
  // A channel with no stream open and no traffic for this long is closed.
  Duration idle_timeout = 60 * kSecond;
  // Opening waits this long for a path whose room fits a 1200-byte Initial, then fails with
  // kTooLarge (or kUnreachable when there is no circuit at all).
  Duration room_wait = 2 * kSecond;
  // Each path is probed (a stats packet, answered by the peer) this often (10x less often on a
  // channel with no open stream and no traffic for a second)...
  Duration probe_interval = 100 * kMillisecond;
  // ...and fails after this many probes in a row went unanswered (it recovers on an answer).
  unsigned probe_loss_limit = 3;
  // Fewer healthy paths than this asks the circuit builder for more (at most every interval).
  std::size_t min_healthy_paths = 2;
  Duration want_circuits_interval = 5 * kSecond;
  transport::CongestionControl cc = transport::CongestionControl::kCubic;
  Duration quic_idle_timeout = 30 * kSecond;
  Duration keep_alive = 5 * kSecond;
  std::uint64_t max_window = 64u << 20;
  std::size_t stream_send_buffer = 8u << 20;
  // Receive windows; with manual_stream_credit the front end credits what it took with
  // Channel::consume_stream() (a slow reader holds the sender back).
  std::uint64_t initial_max_stream_data = 2u << 20;
  std::uint64_t max_stream_window = 16u << 20;
  bool manual_stream_credit = false;
  // Streams the peer may have open at once (proxied connections, API streams).
  std::uint64_t max_streams_bidi = 1024;
};

}  // namespace qc::channel
