#include "front/stream_header.h"

#include <string>

#include "front/dialer.h"

namespace qc::front {

Bytes encode_open_request(std::uint16_t port) {
  return {kStreamHeaderVersion, static_cast<std::uint8_t>(port >> 8),
          static_cast<std::uint8_t>(port & 0xff)};
}

Bytes encode_open_response(socks5::ReplyCode status) {
  return {kStreamHeaderVersion, static_cast<std::uint8_t>(status)};
}

Result<std::optional<std::uint16_t>> decode_open_request(ByteView data) {
  if (!data.empty() && data[0] != kStreamHeaderVersion) {
    return Err(Errc::kProtocol, "stream header version " + std::to_string(data[0]));
  }
  if (data.size() < kOpenRequestSize) return std::optional<std::uint16_t>();
  return std::optional<std::uint16_t>(static_cast<std::uint16_t>((data[1] << 8) | data[2]));
}

Result<std::optional<socks5::ReplyCode>> decode_open_response(ByteView data) {
  if (!data.empty() && data[0] != kStreamHeaderVersion) {
    return Err(Errc::kProtocol, "stream header version " + std::to_string(data[0]));
  }
  if (data.size() < kOpenResponseSize) return std::optional<socks5::ReplyCode>();
  if (data[1] > static_cast<std::uint8_t>(socks5::ReplyCode::kAddressTypeNotSupported)) {
    return Err(Errc::kProtocol, "stream open status " + std::to_string(data[1]));
  }
  return std::optional<socks5::ReplyCode>(static_cast<socks5::ReplyCode>(data[1]));
}

Error open_status_error(socks5::ReplyCode status) {
  std::string what = std::string("target node: ") + socks5::reply_code_name(status);
  switch (status) {
    case socks5::ReplyCode::kNotAllowed:
      return Error{Errc::kLimit, what};
    case socks5::ReplyCode::kHostUnreachable:
    case socks5::ReplyCode::kNetworkUnreachable:
      return Error{Errc::kUnreachable, what};
    case socks5::ReplyCode::kConnectionRefused:
      return Error{Errc::kIo, what};
    case socks5::ReplyCode::kTtlExpired:
      return Error{Errc::kTimeout, what};
    default:
      return Error{Errc::kProtocol, what};
  }
}

}  // namespace qc::front
