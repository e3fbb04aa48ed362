// The header at the start of every proxied mesh stream (docs/socks5.md).
//
//   open request  (SOCKS side -> target node): version 0x01 | target port u16 (big-endian)
//   open response (target node -> SOCKS side): version 0x01 | status u8
// Status values are SOCKS5 reply codes, so the SOCKS side can pass them on unchanged:
//   0x00 connected, 0x01 general failure, 0x02 port not exposed, 0x04 local host unresolvable,
//   0x05 local service refused, 0x06 local connect timed out.
// After the response with status 0x00 the stream carries the proxied bytes both ways; after any
// other status the target closes its side.
#pragma once

#include <cstdint>
#include <optional>

#include "common/bytes.h"
#include "common/result.h"
#include "front/socks5_protocol.h"

namespace qc::front {

constexpr std::uint8_t kStreamHeaderVersion = 0x01;
constexpr std::size_t kOpenRequestSize = 3;
constexpr std::size_t kOpenResponseSize = 2;

Bytes encode_open_request(std::uint16_t port);
Bytes encode_open_response(socks5::ReplyCode status);

// Decodes from the first bytes of a stream: nullopt when fewer than the header's size have
// arrived; kProtocol on an unknown version (or, for a response, an unknown status).
Result<std::optional<std::uint16_t>> decode_open_request(ByteView data);
Result<std::optional<socks5::ReplyCode>> decode_open_response(ByteView data);

// The error a dialer reports for a non-zero response status, such that reply_for_dial_error()
// gives the same code back.
Error open_status_error(socks5::ReplyCode status);

}  // namespace qc::front
