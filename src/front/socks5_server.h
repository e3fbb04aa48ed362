// Socks5Server: the SOCKS5 front end (RFC 1928 CONNECT, RFC 1929 auth) on a local TCP address.
//
// For each client: run the handshake (socks5::ServerHandshake), classify the destination
// (classify()), ask the Dialer for a stream, reply, then splice the client socket with the
// stream (Splice over a TcpByteStream) until both directions have ended. Client misbehaviour
// ends that one client's connection only. Bounds per connection: the client socket's
// TcpByteStream write limit plus one read chunk, plus whatever the dialed stream itself holds.
//
// Threading: single-threaded; every method and callback on the io_context's thread. Destroying
// the server (or stop()) resets every connection.
#pragma once

// A standard header first: Asio's configuration reads libstdc++'s macros (aligned allocation),
// and must see the same ones in every translation unit.
#include <cstddef>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/result.h"
#include "front/destination.h"
#include "front/dialer.h"
#include "front/socks5_protocol.h"
#include "front/tcp_byte_stream.h"

namespace qc::front {

struct Socks5ServerOptions {
  std::string address = "127.0.0.1";  // loopback by default: the proxy is for local programs
  std::uint16_t port = 1080;          // 0 picks a free port (see local_endpoint())
  socks5::AuthConfig auth;            // credentials set -> username/password required
  DestinationPolicy destinations;
  std::size_t max_connections = 1024;                   // further clients are closed at once
  std::chrono::milliseconds handshake_timeout{30'000};  // greeting to request, else close
  std::chrono::milliseconds dial_timeout{10'000};       // else reply 0x06
  TcpByteStreamOptions client_stream;                   // client socket buffer bounds
};

class Socks5Server {
 public:
  // Binds and listens. kIo when the address cannot be bound, kInvalidArgument when it is not
  // an IP literal. `dialer` must outlive the server.
  static Result<std::unique_ptr<Socks5Server>> start(asio::io_context& io,
                                                     Socks5ServerOptions options, Dialer& dialer);
  ~Socks5Server();
  Socks5Server(const Socks5Server&) = delete;
  Socks5Server& operator=(const Socks5Server&) = delete;

  asio::ip::tcp::endpoint local_endpoint() const;
  // Clients connected now (in handshake, dialing or spliced).
  std::size_t connection_count() const { return connections_.size(); }
  // Bytes held for all clients in the server's own buffers (client-socket streams and
  // handshakes), excluding what the dialed streams hold.
  std::size_t buffered_bytes() const;
  // Stops accepting and resets every connection.
  void stop();

  class Connection;

 private:
  Socks5Server(asio::io_context& io, Socks5ServerOptions options, Dialer& dialer);
  void accept();
  void remove(std::uint64_t id);

  Socks5ServerOptions options_;
  Dialer& dialer_;
  asio::ip::tcp::acceptor acceptor_;
  std::map<std::uint64_t, std::shared_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 1;
  bool stopped_ = false;
  // Cleared on destruction: a completed accept that runs later must not touch *this.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace qc::front
