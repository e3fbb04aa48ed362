// ControlChannel: the receiving rules of a session's control stream, sans IO.
//
// Feeds stream bytes through a FrameDecoder and checks the message order: the first message
// must be a Hello (exactly one), naming the node the TLS handshake proved, with our protocol
// version. A message with an unknown body (a newer peer) is skipped. The stream must never end
// while the session lives. Any breach is a Violation: the session is closed with its code and
// reason (the node carries on).
//
// Threading rule: one thread at a time (the session's).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "link/close_code.h"
#include "link/frame_codec.h"
#include "link/link_pb.h"

namespace qc::link {

constexpr std::uint32_t kProtocolVersion = 1;

// `text` from a peer, made safe to log: at most `max` bytes, non-printable bytes as '?'.
std::string printable(std::string_view text, std::size_t max = 64);

struct Violation {
  CloseCode code = CloseCode::kProtocolViolation;
  std::string reason;
};

class ControlChannel {
 public:
  using Deliver = std::function<void(ControlMessage& msg)>;

  // `peer_text_id`: the text id proven by the peer's certificate; empty skips that check.
  explicit ControlChannel(std::string peer_text_id) : peer_text_id_(std::move(peer_text_id)) {}

  // Decodes `data` (and the end of stream when `fin`) and calls `deliver` for each accepted
  // message, Hello included. Returns the first violation; after one, nothing more is accepted.
  std::optional<Violation> receive(ByteView data, bool fin, const Deliver& deliver);

  bool hello_received() const { return hello_received_; }
  const Hello& peer_hello() const { return hello_; }

 private:
  std::optional<Violation> check(const ControlMessage& msg);

  std::string peer_text_id_;
  FrameDecoder decoder_;
  bool hello_received_ = false;
  Hello hello_;
  std::optional<Violation> violation_;
};

}  // namespace qc::link
