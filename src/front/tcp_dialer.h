// TcpDialer: dials outside destinations directly over TCP (for a node configured to let
// traffic out, DestinationPolicy::allow_direct). Domain names are resolved with the system
// resolver; every address is tried in turn. Mesh destinations are refused (kUnsupported): give
// MeshDialer this dialer as its `direct` one.
//
// Threading: single-threaded, on the io_context's thread. Must outlive pending dials.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/io_context.hpp>

#include <memory>

#include "front/dialer.h"
#include "front/tcp_byte_stream.h"

namespace qc::front {

class TcpDialer final : public Dialer {
 public:
  explicit TcpDialer(asio::io_context& io, TcpByteStreamOptions stream_options = {});
  ~TcpDialer() override;
  TcpDialer(const TcpDialer&) = delete;
  TcpDialer& operator=(const TcpDialer&) = delete;

  // Errors: kNotFound (name does not resolve), kIo (refused or unreachable: the message has the
  // system's reason), kUnsupported (a mesh destination).
  void dial(const Destination& destination, Callback callback) override;

 private:
  asio::io_context& io_;
  TcpByteStreamOptions stream_options_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::front
