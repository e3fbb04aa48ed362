// LocalConnector: the target node's side of a proxied stream. For each incoming mesh stream it
// reads the open request (stream_header.h), checks the port against the ExposePolicy, connects
// to the local service, answers with the open response, and splices the stream with the local
// TCP connection (same bounds and half-close/reset rules as the SOCKS side). A port that is not
// exposed is answered 0x02 and never connected; a stream that sends no valid header within
// `header_timeout` or sends a bad one is reset.
//
// Threading: single-threaded, on the io_context's thread. Destroying it resets every stream.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>

#include "front/byte_stream.h"
#include "front/expose_policy.h"
#include "front/tcp_byte_stream.h"

namespace qc::front {

struct LocalConnectorOptions {
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  TcpByteStreamOptions local_stream;
};

class LocalConnector {
 public:
  LocalConnector(asio::io_context& io, ExposePolicy policy, LocalConnectorOptions options = {});
  ~LocalConnector();
  LocalConnector(const LocalConnector&) = delete;
  LocalConnector& operator=(const LocalConnector&) = delete;

  // Takes an incoming proxied stream (the Node calls this for each stream a peer opens).
  void accept(std::unique_ptr<ByteStream> stream);

  // In-process services (the C++ API's listen()): when `listening(port)` is true, a stream
  // asking for that port is answered 0x00 and handed to `take` (its handler unset, reading
  // paused until the new owner's resume_reading()), before the expose list is consulted.
  using Listening = std::function<bool(std::uint16_t port)>;
  using Take = std::function<void(std::uint16_t port, std::unique_ptr<ByteStream> stream)>;
  void set_listeners(Listening listening, Take take) {
    listening_ = std::move(listening);
    take_ = std::move(take);
  }
  // Streams in progress (reading the header, connecting, or spliced).
  std::size_t active() const { return incoming_.size(); }
  // Connections refused because their port is not exposed (for metrics and tests).
  std::size_t refused() const { return refused_; }

  class Incoming;

 private:
  void remove(std::uint64_t id);

  asio::io_context& io_;
  ExposePolicy policy_;
  LocalConnectorOptions options_;
  std::map<std::uint64_t, std::shared_ptr<Incoming>> incoming_;
  std::uint64_t next_id_ = 1;
  std::size_t refused_ = 0;
  Listening listening_;
  Take take_;
};

}  // namespace qc::front
