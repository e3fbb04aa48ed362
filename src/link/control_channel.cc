#include "link/control_channel.h"

namespace qc::link {

const char* close_code_name(CloseCode c) {
  switch (c) {
    case CloseCode::kNone:
      return "none";
    case CloseCode::kShutdown:
      return "shutdown";
    case CloseCode::kProtocolViolation:
      return "protocol violation";
    case CloseCode::kFrameTooLarge:
      return "frame too large";
    case CloseCode::kBadFrame:
      return "bad frame";
    case CloseCode::kDuplicateSession:
      return "duplicate session";
    case CloseCode::kHelloMismatch:
      return "hello mismatch";
    case CloseCode::kVersionMismatch:
      return "version mismatch";
    case CloseCode::kHelloTimeout:
      return "hello timeout";
    case CloseCode::kBacklog:
      return "control backlog";
    case CloseCode::kStalled:
      return "transport stalled";
  }
  return "unknown";
}

std::string printable(std::string_view text, std::size_t max) {
  std::string out(text.substr(0, max));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  if (text.size() > max) out += "...";
  return out;
}

std::optional<Violation> ControlChannel::receive(ByteView data, bool fin, const Deliver& deliver) {
  if (violation_) return violation_;
  decoder_.feed(data);
  for (;;) {
    auto next = decoder_.next();
    if (!next) {
      CloseCode code =
          next.error().code == Errc::kTooLarge ? CloseCode::kFrameTooLarge : CloseCode::kBadFrame;
      violation_ = Violation{code, next.error().message};
      return violation_;
    }
    if (!next->has_value()) break;
    ControlMessage& msg = **next;
    if (auto v = check(msg)) {
      violation_ = v;
      return violation_;
    }
    if (msg.body_case() == ControlMessage::BODY_NOT_SET) continue;  // a newer peer's message
    deliver(msg);
  }
  if (fin) {
    if (auto r = decoder_.finish(); !r) {
      violation_ = Violation{CloseCode::kBadFrame, r.error().message};
    } else {
      violation_ = Violation{CloseCode::kProtocolViolation, "control stream closed by the peer"};
    }
    return violation_;
  }
  return std::nullopt;
}

std::optional<Violation> ControlChannel::check(const ControlMessage& msg) {
  if (!hello_received_) {
    if (msg.body_case() != ControlMessage::kHello) {
      return Violation{CloseCode::kProtocolViolation,
                       "expected Hello first, got message " + std::to_string(msg.body_case())};
    }
    const Hello& h = msg.hello();
    if (h.version() != kProtocolVersion) {
      return Violation{CloseCode::kVersionMismatch,
                       "peer speaks link protocol " + std::to_string(h.version()) + ", we speak " +
                           std::to_string(kProtocolVersion)};
    }
    if (!peer_text_id_.empty() && h.node_text_id() != peer_text_id_) {
      return Violation{CloseCode::kHelloMismatch, "Hello names '" +
                                                      printable(h.node_text_id(), 32) +
                                                      "' but the certificate is " + peer_text_id_};
    }
    hello_received_ = true;
    hello_ = h;
    return std::nullopt;
  }
  if (msg.body_case() == ControlMessage::kHello) {
    return Violation{CloseCode::kProtocolViolation, "second Hello"};
  }
  return std::nullopt;
}

}  // namespace qc::link
