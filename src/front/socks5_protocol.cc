#include "front/socks5_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace qc::front::socks5 {
namespace {

constexpr std::uint8_t kAuthOk = 0x00;
constexpr std::uint8_t kAuthFailed = 0x01;

// Constant-time comparison so a wrong password's length of common prefix does not leak.
bool same_secret(ByteView a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<std::uint8_t>(a[i] ^ static_cast<std::uint8_t>(b[i]));
  }
  return diff == 0;
}

}  // namespace

const char* reply_code_name(ReplyCode c) {
  switch (c) {
    case ReplyCode::kSucceeded:
      return "succeeded";
    case ReplyCode::kGeneralFailure:
      return "general failure";
    case ReplyCode::kNotAllowed:
      return "connection not allowed by ruleset";
    case ReplyCode::kNetworkUnreachable:
      return "network unreachable";
    case ReplyCode::kHostUnreachable:
      return "host unreachable";
    case ReplyCode::kConnectionRefused:
      return "connection refused";
    case ReplyCode::kTtlExpired:
      return "TTL expired";
    case ReplyCode::kCommandNotSupported:
      return "command not supported";
    case ReplyCode::kAddressTypeNotSupported:
      return "address type not supported";
  }
  return "unknown";
}

std::string Address::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  std::string host;
  switch (type) {
    case AddressType::kIpv4:
      inet_ntop(AF_INET, ipv4.data(), text, sizeof(text));
      host = text;
      break;
    case AddressType::kIpv6:
      inet_ntop(AF_INET6, ipv6.data(), text, sizeof(text));
      host = "[" + std::string(text) + "]";
      break;
    case AddressType::kDomain:
      host = domain;
      break;
  }
  return host + ":" + std::to_string(port);
}

ServerHandshake::Progress ServerHandshake::fail(Bytes output, std::string reason) {
  stage_ = Stage::kDone;
  buf_.clear();
  reason_ = std::move(reason);
  return Progress{Status::kClose, std::move(output)};
}

ServerHandshake::Progress ServerHandshake::feed(ByteView in) {
  if (stage_ == Stage::kDone) return Progress{Status::kClose, {}};
  buf_.insert(buf_.end(), in.begin(), in.end());
  Progress out;
  // Messages may arrive pipelined (greeting + auth + request in one chunk): parse on until a
  // message is incomplete or the handshake ends; earlier replies accumulate in out.output.
  while (true) {
    std::optional<Progress> step;
    switch (stage_) {
      case Stage::kGreeting:
        step = parse_greeting();
        break;
      case Stage::kAuth:
        step = parse_auth();
        break;
      case Stage::kRequest:
        step = parse_request();
        break;
      case Stage::kDone:
        return out;
    }
    if (!step) return out;  // kNeedMore, with whatever replies are due
    out.output.insert(out.output.end(), step->output.begin(), step->output.end());
    out.status = step->status;
    if (step->status != Status::kNeedMore) return out;
  }
}

std::optional<ServerHandshake::Progress> ServerHandshake::parse_greeting() {
  // VER NMETHODS METHODS[NMETHODS]
  if (buf_.empty()) return std::nullopt;
  if (buf_[0] != kVersion) {
    // Not SOCKS5 (SOCKS4, HTTP, garbage): there is no reply it would understand.
    return fail({}, "not a SOCKS5 greeting (version byte " + std::to_string(buf_[0]) + ")");
  }
  if (buf_.size() < 2) return std::nullopt;
  std::size_t n = buf_[1];
  if (n == 0) {
    return fail({kVersion, static_cast<std::uint8_t>(Method::kNoAcceptable)},
                "greeting offers no methods");
  }
  if (buf_.size() < 2 + n) return std::nullopt;
  ByteView methods(buf_.data() + 2, n);
  auto offers = [&](Method m) {
    return std::find(methods.begin(), methods.end(), static_cast<std::uint8_t>(m)) != methods.end();
  };
  Method chosen = Method::kNoAcceptable;
  if (auth_.credentials) {
    if (offers(Method::kUserPass)) chosen = Method::kUserPass;
  } else if (offers(Method::kNoAuth)) {
    chosen = Method::kNoAuth;
  }
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(2 + n));
  Bytes reply{kVersion, static_cast<std::uint8_t>(chosen)};
  if (chosen == Method::kNoAcceptable) {
    return fail(std::move(reply), "no acceptable authentication method offered");
  }
  stage_ = chosen == Method::kUserPass ? Stage::kAuth : Stage::kRequest;
  return Progress{Status::kNeedMore, std::move(reply)};
}

std::optional<ServerHandshake::Progress> ServerHandshake::parse_auth() {
  // VER ULEN UNAME[ULEN] PLEN PASSWD[PLEN]
  if (buf_.empty()) return std::nullopt;
  if (buf_[0] != kAuthVersion) {
    return fail({kAuthVersion, kAuthFailed}, "bad username/password sub-negotiation version");
  }
  if (buf_.size() < 2) return std::nullopt;
  std::size_t ulen = buf_[1];
  if (buf_.size() < 2 + ulen + 1) return std::nullopt;
  std::size_t plen = buf_[2 + ulen];
  if (buf_.size() < 3 + ulen + plen) return std::nullopt;
  ByteView user(buf_.data() + 2, ulen);
  ByteView pass(buf_.data() + 3 + ulen, plen);
  bool ok = ulen > 0 && plen > 0 && same_secret(user, auth_.credentials->username) &&
            same_secret(pass, auth_.credentials->password);
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(3 + ulen + plen));
  if (!ok) return fail({kAuthVersion, kAuthFailed}, "username/password rejected");
  stage_ = Stage::kRequest;
  return Progress{Status::kNeedMore, {kAuthVersion, kAuthOk}};
}

std::optional<ServerHandshake::Progress> ServerHandshake::parse_request() {
  // VER CMD RSV ATYP DST.ADDR DST.PORT
  if (buf_.empty()) return std::nullopt;
  if (buf_[0] != kVersion) {
    return fail(encode_reply(ReplyCode::kGeneralFailure), "request version is not 5");
  }
  if (buf_.size() < 4) return std::nullopt;
  std::uint8_t cmd = buf_[1];
  if (buf_[2] != 0x00) {
    return fail(encode_reply(ReplyCode::kGeneralFailure), "request reserved byte is not 0");
  }
  std::size_t addr_len = 0;
  std::size_t addr_off = 4;
  switch (buf_[3]) {
    case static_cast<std::uint8_t>(AddressType::kIpv4):
      addr_len = 4;
      break;
    case static_cast<std::uint8_t>(AddressType::kIpv6):
      addr_len = 16;
      break;
    case static_cast<std::uint8_t>(AddressType::kDomain):
      if (buf_.size() < 5) return std::nullopt;
      addr_len = buf_[4];
      addr_off = 5;
      if (addr_len == 0) {
        return fail(encode_reply(ReplyCode::kGeneralFailure), "empty domain name");
      }
      break;
    default:
      return fail(encode_reply(ReplyCode::kAddressTypeNotSupported),
                  "address type " + std::to_string(buf_[3]) + " not supported");
  }
  std::size_t total = addr_off + addr_len + 2;
  if (buf_.size() < total) return std::nullopt;

  // The whole request is here: an unsupported command is answered only now, so the reply is
  // not sent while the client is still mid-message.
  if (cmd != static_cast<std::uint8_t>(Command::kConnect)) {
    bool known = cmd == static_cast<std::uint8_t>(Command::kBind) ||
                 cmd == static_cast<std::uint8_t>(Command::kUdpAssociate);
    return fail(encode_reply(ReplyCode::kCommandNotSupported),
                std::string(known ? "command " : "unknown command ") + std::to_string(cmd) +
                    " not supported");
  }
  Address& a = request_.destination;
  a.type = static_cast<AddressType>(buf_[3]);
  const std::uint8_t* p = buf_.data() + addr_off;
  switch (a.type) {
    case AddressType::kIpv4:
      std::memcpy(a.ipv4.data(), p, 4);
      break;
    case AddressType::kIpv6:
      std::memcpy(a.ipv6.data(), p, 16);
      break;
    case AddressType::kDomain:
      a.domain.assign(reinterpret_cast<const char*>(p), addr_len);
      if (std::any_of(a.domain.begin(), a.domain.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
        return fail(encode_reply(ReplyCode::kGeneralFailure), "domain name has control characters");
      }
      break;
  }
  a.port =
      static_cast<std::uint16_t>((buf_[addr_off + addr_len] << 8) | buf_[addr_off + addr_len + 1]);
  request_.command = Command::kConnect;
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(total));
  stage_ = Stage::kDone;
  return Progress{Status::kRequestReady, {}};
}

Bytes encode_reply(ReplyCode code, const Address* bound) {
  Address zero;
  const Address& a = bound != nullptr ? *bound : zero;
  Bytes out{kVersion, static_cast<std::uint8_t>(code), 0x00, static_cast<std::uint8_t>(a.type)};
  switch (a.type) {
    case AddressType::kIpv4:
      out.insert(out.end(), a.ipv4.begin(), a.ipv4.end());
      break;
    case AddressType::kIpv6:
      out.insert(out.end(), a.ipv6.begin(), a.ipv6.end());
      break;
    case AddressType::kDomain: {
      std::size_t n = std::min<std::size_t>(a.domain.size(), 255);
      out.push_back(static_cast<std::uint8_t>(n));
      out.insert(out.end(), a.domain.begin(), a.domain.begin() + static_cast<std::ptrdiff_t>(n));
      break;
    }
  }
  out.push_back(static_cast<std::uint8_t>(a.port >> 8));
  out.push_back(static_cast<std::uint8_t>(a.port & 0xff));
  return out;
}

Bytes encode_greeting(std::initializer_list<Method> methods) {
  Bytes out{kVersion, static_cast<std::uint8_t>(methods.size())};
  for (Method m : methods) out.push_back(static_cast<std::uint8_t>(m));
  return out;
}

Bytes encode_auth(std::string_view username, std::string_view password) {
  Bytes out{kAuthVersion, static_cast<std::uint8_t>(std::min<std::size_t>(username.size(), 255))};
  out.insert(out.end(), username.begin(), username.begin() + out[1]);
  std::size_t plen = std::min<std::size_t>(password.size(), 255);
  out.push_back(static_cast<std::uint8_t>(plen));
  out.insert(out.end(), password.begin(), password.begin() + static_cast<std::ptrdiff_t>(plen));
  return out;
}

Result<Bytes> encode_request(Command command, const Address& destination) {
  if (destination.type == AddressType::kDomain &&
      (destination.domain.empty() || destination.domain.size() > 255)) {
    return Err(Errc::kInvalidArgument, "a SOCKS5 domain name has 1 to 255 bytes");
  }
  Bytes out = encode_reply(ReplyCode::kSucceeded, &destination);  // same layout as a reply
  out[1] = static_cast<std::uint8_t>(command);
  return out;
}

}  // namespace qc::front::socks5
