// The quic-channel C++ API: embed a mesh node in a program.
//
//   auto node = qc::Node::start_from_file("node.toml");         // or start_from_toml(text)
//   if (!node) { std::cerr << node.error().message; return 1; }
//   auto listener = (*node)->listen(7);                          // a service on mesh port 7
//   auto stream = (*node)->dial("faqmce7yybsswacf.fuse", 7);    // a peer's service
//   (*stream)->write(bytes); (*stream)->finish();
//   std::uint8_t buf[65536]; auto n = (*stream)->read(buf);      // 0: the peer finished
//
// A Node runs its own event-loop thread; every method here may be called from any thread and
// blocks only as its comment says. Streams are end-to-end encrypted QUIC streams on the channel
// to the peer (the circuits and the channel are made on demand and survive path changes);
// datagrams are unreliable and limited to one channel packet. Mesh ports are the same ports
// the SOCKS5 proxy reaches: a port with a listener here takes precedence over [expose].
//
// Peers are named as everywhere in quic-channel: a text id, "<text id>.<suffix>", a cluster
// IPv6 address or a hex node id prefix.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/result.h"

namespace qc {

namespace api_detail {
struct StreamCore;
struct ListenerCore;
struct NodeCore;
}  // namespace api_detail

// A bidirectional byte stream to a peer's service.
class Stream {
 public:
  ~Stream();  // resets the stream unless both directions finished
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Reads what has arrived, up to buf.size() bytes; blocks until something arrives. Returns 0
  // once the peer finished its direction. kClosed when the stream was reset or the node stopped,
  // kTimeout when `timeout` (if non-zero) passed with nothing to read.
  Result<std::size_t> read(std::span<std::uint8_t> buf,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Reads until `buf` is full or the peer finished; returns the bytes read.
  Result<std::size_t> read_all(std::span<std::uint8_t> buf);
  // Queues all of `data`; blocks while the stream's send buffer is full (back-pressure).
  Result<void> write(ByteView data);
  // Half-close: the peer reads 0 after everything written so far.
  Result<void> finish();
  // Waits until the stream ended in order: both sides finished and everything this side wrote
  // was acknowledged by the peer (call it after finish() before stopping the node, or the data
  // still in flight is lost). kClosed when it was reset instead, kTimeout after `timeout`.
  Result<void> wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Aborts both directions at once.
  void reset();
  // The peer's text id.
  const std::string& peer() const;

 private:
  friend class Node;
  friend class Listener;
  explicit Stream(std::shared_ptr<api_detail::StreamCore> core);
  std::shared_ptr<api_detail::StreamCore> core_;
};

// Streams that peers dial to one mesh port of this node.
class Listener {
 public:
  ~Listener();  // stops listening; streams not yet accepted are reset
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // The next incoming stream; blocks until one arrives. kTimeout after `timeout` (if non-zero),
  // kClosed when the node stopped.
  Result<std::unique_ptr<Stream>> accept(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  std::uint16_t port() const { return port_; }

 private:
  friend class Node;
  Listener(std::shared_ptr<api_detail::ListenerCore> core, std::uint16_t port);
  std::shared_ptr<api_detail::ListenerCore> core_;
  std::uint16_t port_;
};

// What happens around the node, for Node::on_event.
struct Event {
  enum class Kind {
    kPeerUp,       // a neighbour session came up (detail: the remote address)
    kPeerDown,     // ... went down
    kCircuitUp,    // a circuit to `peer` is established (detail: the path, "a -> r -> b")
    kCircuitDown,  // ... is gone (detail: why)
  };
  Kind kind = Kind::kPeerUp;
  std::string peer;  // text id
  std::string detail;
};

class Node {
 public:
  // Starts a node from a TOML configuration (the same file `qc node --config` reads; relative
  // paths are relative to the file). Errors name what is wrong and what to change.
  static Result<std::unique_ptr<Node>> start_from_file(const std::string& path);
  // From TOML text; relative paths are relative to `base_dir`.
  static Result<std::unique_ptr<Node>> start_from_toml(const std::string& toml,
                                                       const std::string& base_dir);
  ~Node();  // stop()
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Closes every session (peers are told), resets open streams and joins the node's thread.
  void stop();

  const std::string& id() const;       // text id
  const std::string& address() const;  // cluster IPv6 address
  std::uint16_t port() const;          // UDP port of the neighbour sessions

  // Opens a stream to mesh port `port` of `peer`. Blocks until the peer's service accepted it
  // or `timeout` passed. Errors: kUnreachable (no route; answered promptly, not at the
  // timeout), kLimit (the port is neither listened on nor exposed there), kIo (its service
  // refused), kNotFound / kParse (not a peer name), kTimeout.
  Result<std::unique_ptr<Stream>> dial(
      const std::string& peer, std::uint16_t port,
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Accepts streams to mesh port `port`. kInvalidArgument when the port is taken.
  Result<std::unique_ptr<Listener>> listen(std::uint16_t port);

  // Sends one unreliable datagram (opening the channel first when needed; blocks for that).
  // kTooLarge when `data` exceeds what the channel carries (see max_datagram()).
  Result<void> send_datagram(const std::string& peer, ByteView data,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Largest datagram the channel to `peer` carries now; 0 when no channel is open to it.
  std::size_t max_datagram(const std::string& peer);
  // Datagrams from peers; the callback runs on the node's thread and must not block.
  void on_datagram(std::function<void(const std::string& peer, ByteView data)> callback);
  // Peer and circuit events; the callback runs on the node's thread and must not block.
  void on_event(std::function<void(const Event&)> callback);

 private:
  explicit Node(std::shared_ptr<api_detail::NodeCore> core);
  std::shared_ptr<api_detail::NodeCore> core_;
};

}  // namespace qc
