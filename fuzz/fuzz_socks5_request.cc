// libFuzzer target: arbitrary bytes, in arbitrary chunking, into the SOCKS5 server handshake
// (front/socks5_protocol.h), with and without username/password configured, and into the
// proxied stream's header decoders. Must never crash, hang or leak; checks that an accepted
// request survives its own encoding and that replies stay within the protocol's sizes.
//
// Input layout: byte 0 chooses the chunk size and whether credentials are required; the rest is
// what a client sends.
#include <cstddef>
#include <cstdint>

#include "front/socks5_protocol.h"
#include "front/stream_header.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qc::front;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  qc::ByteView input(data + 1, size - 1);

  socks5::AuthConfig auth;
  if ((mode & 0x80) != 0) auth.credentials = socks5::AuthConfig::Credentials{"user", "pass"};
  socks5::ServerHandshake h(auth);
  const std::size_t chunk = 1 + (mode & 0x3f);
  std::size_t output = 0;
  bool ended = false;
  for (std::size_t off = 0; off < input.size() && !ended; off += chunk) {
    std::size_t n = std::min(chunk, input.size() - off);
    auto p = h.feed(input.subspan(off, n));
    output += p.output.size();
    // Method choice (2) + auth status (2) + one reply (at most 4 + 1 + 255 + 2).
    if (output > 2 + 2 + 262) __builtin_trap();
    switch (p.status) {
      case socks5::ServerHandshake::Status::kNeedMore:
        break;
      case socks5::ServerHandshake::Status::kClose:
        ended = true;
        break;
      case socks5::ServerHandshake::Status::kRequestReady: {
        ended = true;
        const socks5::Request& r = h.request();
        if (r.command != socks5::Command::kConnect) __builtin_trap();
        auto again = socks5::encode_request(r.command, r.destination);
        if (!again) __builtin_trap();
        socks5::ServerHandshake h2({});
        qc::Bytes replay = socks5::encode_greeting({socks5::Method::kNoAuth});
        replay.insert(replay.end(), again->begin(), again->end());
        auto p2 = h2.feed(replay);
        if (p2.status != socks5::ServerHandshake::Status::kRequestReady ||
            h2.request().destination.to_string() != r.destination.to_string()) {
          __builtin_trap();
        }
        (void)h.take_early_data();
        break;
      }
    }
  }
  // Once ended, the handshake ignores further input.
  if (ended && h.feed(input).status != socks5::ServerHandshake::Status::kClose) __builtin_trap();

  (void)decode_open_request(input);
  (void)decode_open_response(input);
  return 0;
}
