// Dialer: how the SOCKS5 server reaches a destination. The Node provides one (mesh peers over
// channel streams through MeshDialer, outside hosts directly); tests provide in-memory ones.
#pragma once

#include <functional>
#include <memory>

#include "common/result.h"
#include "front/byte_stream.h"
#include "front/destination.h"
#include "front/socks5_protocol.h"

namespace qc::front {

class Dialer {
 public:
  using Callback = std::function<void(Result<std::unique_ptr<ByteStream>>)>;
  virtual ~Dialer() = default;

  // Opens a stream to `destination` (its port included). Calls `callback` exactly once, from
  // the event loop and never from inside dial(), with a connected stream or an error whose
  // code says why (see reply_for_dial_error). The caller may give up before the callback
  // comes (its callback then drops the stream, which resets it).
  virtual void dial(const Destination& destination, Callback callback) = 0;
};

// The SOCKS5 reply for a failed dial:
//   kUnreachable, kNotFound            -> 0x04 host unreachable (no route, unknown/ambiguous peer)
//   kLimit, kVerify                    -> 0x02 not allowed by ruleset (policy, port not exposed)
//   kIo, kClosed                       -> 0x05 connection refused (the service refused/closed)
//   kTimeout, kExpired                 -> 0x06 TTL expired (timed out)
//   kUnsupported                       -> 0x08 address type not supported
//   anything else                      -> 0x01 general failure
socks5::ReplyCode reply_for_dial_error(const Error& error);

}  // namespace qc::front
