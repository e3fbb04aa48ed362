// Application error codes a neighbour session is closed with (QUIC CONNECTION_CLOSE of type
// application, and Goodbye.code). Stable on the wire: append only.
#pragma once

#include <cstdint>

namespace qc::link {

enum class CloseCode : std::uint32_t {
  kNone = 0,               // normal close, no error
  kShutdown = 1,           // the node is stopping
  kProtocolViolation = 2,  // a message out of order, an unexpected stream, a closed control stream
  kFrameTooLarge = 3,      // a control frame longer than kMaxFrameSize
  kBadFrame = 4,           // a control frame that does not decode
  kDuplicateSession = 5,   // another session to the same peer on this interface is kept
  kHelloMismatch = 6,      // Hello names another node than the certificate proves
  kVersionMismatch = 7,    // Hello carries a protocol version we do not speak
  kHelloTimeout = 8,       // no Hello in time after the handshake
  kBacklog = 9,            // the peer does not read its control stream
  kStalled = 10,           // the sender's congestion state got stuck; the dialler redials
};

const char* close_code_name(CloseCode c);

}  // namespace qc::link
