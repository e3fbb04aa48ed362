#include "common/result.h"

namespace qc {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::kInvalidArgument: return "invalid argument";
    case Errc::kParse: return "parse error";
    case Errc::kNotFound: return "not found";
    case Errc::kExists: return "already exists";
    case Errc::kIo: return "i/o error";
    case Errc::kCrypto: return "crypto error";
    case Errc::kVerify: return "verification failed";
    case Errc::kExpired: return "expired";
    case Errc::kProtocol: return "protocol violation";
    case Errc::kTooLarge: return "too large";
    case Errc::kUnreachable: return "unreachable";
    case Errc::kTimeout: return "timeout";
    case Errc::kClosed: return "closed";
    case Errc::kUnsupported: return "unsupported";
    case Errc::kLimit: return "limit reached";
    case Errc::kInternal: return "internal error";
  }
  return "unknown error";
}

}  // namespace qc
