// MeshDialer: the Dialer the Node gives the SOCKS5 server. For a mesh destination it asks the
// StreamOpener (the Node: a new stream on the channel to that peer) for a stream, sends the
// open request (stream_header.h) with the target port, waits for the open response, and hands
// the stream over only when the target connected its local service; the target's refusal
// status becomes the dial error (so "port not exposed" reaches the client as 0x02). Outside
// destinations go to `direct` when there is one, else fail with kLimit.
//
// Threading: single-threaded, on the io_context's thread. Must outlive pending dials.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>

#include "front/dialer.h"
#include "identity/identity.h"

namespace qc::front {

class StreamOpener {
 public:
  using Callback = std::function<void(Result<std::unique_ptr<ByteStream>>)>;
  virtual ~StreamOpener() = default;
  // Opens a new stream on the channel to the peer whose node id starts with `peer`. Calls back
  // once, from the event loop, never from inside open(). Errors: kNotFound when the prefix names
  // no known peer or more than one; kUnreachable when the routing core answered that the peer
  // cannot be reached (that answer must come promptly, not after a long timeout); kTimeout.
  virtual void open(const identity::NodeIdPrefix& peer, Callback callback) = 0;
};

class MeshDialer final : public Dialer {
 public:
  MeshDialer(asio::io_context& io, StreamOpener& opener, Dialer* direct = nullptr);
  ~MeshDialer() override;
  MeshDialer(const MeshDialer&) = delete;
  MeshDialer& operator=(const MeshDialer&) = delete;

  void dial(const Destination& destination, Callback callback) override;

  class Pending;

 private:
  void remove(std::uint64_t id);

  asio::io_context& io_;
  StreamOpener& opener_;
  Dialer* direct_;
  std::map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::front
