// SOCKS5 server-side handshake (RFC 1928, with RFC 1929 username/password), sans-IO.
//
// The caller feeds whatever bytes arrived from the client, in any chunking, and acts on the
// returned Progress: write `output` to the client, then
//   kNeedMore     - keep reading and feed again;
//   kClose        - close the connection (after writing `output`, which may be empty);
//   kRequestReady - request() holds a CONNECT request; bytes the client sent after it are in
//                   take_early_data(). Answer with encode_reply() once the outcome is known.
// Never crashes on client input; every length is bounded by the protocol's own length bytes, so
// the handshake never holds more than one message (at most 513 bytes) plus one fed chunk.
//
// Threading: none; one instance per client connection, used from one thread.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::front::socks5 {

constexpr std::uint8_t kVersion = 0x05;
constexpr std::uint8_t kAuthVersion = 0x01;  // RFC 1929 sub-negotiation version

enum class Method : std::uint8_t {
  kNoAuth = 0x00,
  kUserPass = 0x02,
  kNoAcceptable = 0xff,
};

enum class Command : std::uint8_t { kConnect = 0x01, kBind = 0x02, kUdpAssociate = 0x03 };

enum class AddressType : std::uint8_t { kIpv4 = 0x01, kDomain = 0x03, kIpv6 = 0x04 };

// The REP field of a reply (RFC 1928 section 6).
enum class ReplyCode : std::uint8_t {
  kSucceeded = 0x00,
  kGeneralFailure = 0x01,
  kNotAllowed = 0x02,  // connection not allowed by ruleset
  kNetworkUnreachable = 0x03,
  kHostUnreachable = 0x04,
  kConnectionRefused = 0x05,
  kTtlExpired = 0x06,  // also used for timeouts
  kCommandNotSupported = 0x07,
  kAddressTypeNotSupported = 0x08,
};

const char* reply_code_name(ReplyCode c);

// A SOCKS address: exactly one of ipv4 / ipv6 / domain is meaningful, per `type`.
struct Address {
  AddressType type = AddressType::kIpv4;
  std::array<std::uint8_t, 4> ipv4{};
  std::array<std::uint8_t, 16> ipv6{};
  std::string domain;  // 1..255 bytes, no NUL or control characters
  std::uint16_t port = 0;

  // "1.2.3.4:80", "[fdcc::1]:80", "name.fuse:80" (for logs).
  std::string to_string() const;
};

struct Request {
  Command command = Command::kConnect;
  Address destination;
};

// What the server accepts. With credentials set, clients must authenticate with exactly these
// (no-auth is then refused); without, only no-auth is offered.
struct AuthConfig {
  struct Credentials {
    std::string username;  // 1..255 bytes
    std::string password;  // 1..255 bytes
  };
  std::optional<Credentials> credentials;
};

class ServerHandshake {
 public:
  enum class Status { kNeedMore, kClose, kRequestReady };
  struct Progress {
    Status status = Status::kNeedMore;
    Bytes output;  // bytes to write to the client before acting on status
  };

  explicit ServerHandshake(AuthConfig auth) : auth_(std::move(auth)) {}

  // Consumes `in`. After kClose or kRequestReady, further calls return kClose with no output.
  Progress feed(ByteView in);

  // Valid after kRequestReady.
  const Request& request() const { return request_; }
  // Bytes that followed the request (the client may send data before our reply). Moves them out.
  Bytes take_early_data() { return std::move(buf_); }
  // Why the handshake ended in kClose, for logs ("" otherwise).
  const std::string& close_reason() const { return reason_; }

 private:
  enum class Stage { kGreeting, kAuth, kRequest, kDone };
  // Each parse_* consumes one whole message from buf_ or returns nullopt when more is needed.
  std::optional<Progress> parse_greeting();
  std::optional<Progress> parse_auth();
  std::optional<Progress> parse_request();
  Progress fail(Bytes output, std::string reason);

  AuthConfig auth_;
  Stage stage_ = Stage::kGreeting;
  Bytes buf_;
  Request request_;
  std::string reason_;
};

// A reply message: VER REP RSV ATYP BND.ADDR BND.PORT. Without `bound`, 0.0.0.0:0.
Bytes encode_reply(ReplyCode code, const Address* bound = nullptr);

// Client-side encoders (for tests, fuzz seeds and any in-process client).
Bytes encode_greeting(std::initializer_list<Method> methods);
Bytes encode_auth(std::string_view username, std::string_view password);
// Fails with kInvalidArgument on a domain of 0 or more than 255 bytes.
Result<Bytes> encode_request(Command command, const Address& destination);

}  // namespace qc::front::socks5
