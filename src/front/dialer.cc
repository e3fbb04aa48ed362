#include "front/dialer.h"

namespace qc::front {

socks5::ReplyCode reply_for_dial_error(const Error& error) {
  using socks5::ReplyCode;
  switch (error.code) {
    case Errc::kUnreachable:
    case Errc::kNotFound:
      return ReplyCode::kHostUnreachable;
    case Errc::kLimit:
    case Errc::kVerify:
      return ReplyCode::kNotAllowed;
    case Errc::kIo:
    case Errc::kClosed:
      return ReplyCode::kConnectionRefused;
    case Errc::kTimeout:
    case Errc::kExpired:
      return ReplyCode::kTtlExpired;
    case Errc::kUnsupported:
      return ReplyCode::kAddressTypeNotSupported;
    default:
      return ReplyCode::kGeneralFailure;
  }
}

}  // namespace qc::front
