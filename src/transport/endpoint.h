// Endpoint: the IO driver for Connections over UDP. One non-blocking UDP socket serves many
// connections; incoming packets are routed by destination connection id (every id a connection
// issues is registered, so migrated peers keep reaching it). New client Initials are accepted
// when listen() was called. Each connection has a GridTimer (deadlines rounded up to its 250 us
// grid), armed at Connection::expiry() (which includes pacing). Packets for unknown connection
// ids get a stateless reset (when EndpointOptions::reset_secret is set); Initials of unknown
// versions get a Version Negotiation packet. A connection that sent CONNECTION_CLOSE is dropped
// at once (no closing period: later packets from the peer get a stateless reset).
//
//   asio::io_context io;
//   Endpoint ep(io, {});
//   ep.open(*Address::parse("127.0.0.1", 0));
//   ep.listen(server_settings, [&](Endpoint::Handle h, Connection& c) { return &my_observer; });
//   auto h = ep.dial(remote, client_settings, &my_observer);
//   ... observer callbacks ...; after queueing data on ep.connection(h): ep.wake(h);
//   io.run();
//
// Lifetime: a connection is destroyed by the endpoint shortly after its observer's on_closed()
// returns (never inside a callback). Observers must outlive their connections or be detached
// with connection(h)->set_observer(nullptr).
//
// Threading rule: single-threaded. Every method must be called on the thread running the
// io_context; callbacks run there too.
#pragma once

#include <asio.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "transport/address.h"
#include "transport/connection.h"
#include "transport/grid_timer.h"
#include "transport/udp_socket.h"

struct ngtcp2_version_cid;

namespace qc::transport {

struct EndpointOptions {
  UdpSocketOptions socket;
  std::size_t max_connections = 4096;
  // Length of the connection ids our connections issue (overrides ConnectionSettings): short
  // header packets carry no length, so the endpoint must know it.
  std::size_t cid_length = 8;
  // Datagrams read per wake-up before the loop writes and serves timers.
  std::size_t read_budget = 512;
  // Connections answer (ACK) after at most this many received datagrams, even inside one
  // receive batch: a sender's RTT samples then carry little receiver queueing, which keeps
  // ngtcp2 0.12's cubic window (capped near 2.89 x delivery rate x min RTT) from stalling.
  std::size_t answer_every = 32;
  // Secret for stateless reset tokens (ConnectionSettings::reset_secret of every connection).
  // When set, a short-header packet for an unknown connection id is answered with a stateless
  // reset, so peers of a restarted node (same secret) notice at once. Unset: no resets.
  std::optional<std::array<std::uint8_t, 32>> reset_secret;
  // Most stateless resets sent per second.
  std::uint32_t max_resets_per_second = 100;
};

struct EndpointCounters {
  std::uint64_t accepted = 0;
  std::uint64_t dropped_unknown_cid = 0;
  std::uint64_t dropped_refused = 0;
  std::uint64_t stateless_resets_sent = 0;
  std::uint64_t version_negotiations_sent = 0;
};

class Endpoint final : private ConnectionIdRegistry {
 public:
  using Handle = std::uint64_t;
  // A new incoming connection was created (its first packet not yet read). Return its
  // observer, or nullptr to refuse it (it is dropped silently).
  using AcceptHandler = std::function<ConnectionObserver*(Handle, Connection&)>;

  Endpoint(asio::io_context& io, EndpointOptions options);
  // Drops every connection without sending anything (call close_all() first to say goodbye).
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Binds the UDP socket and starts reading. Port 0 picks a free port.
  Result<void> open(const Address& local);
  const Address& local_address() const { return socket_.local_address(); }

  // Accept incoming connections with `settings` (role is forced to kServer).
  void listen(ConnectionSettings settings, AcceptHandler on_accept);
  void stop_listening();

  // Starts a client connection to `remote`. Packets go out on the next loop iteration.
  Result<Handle> dial(const Address& remote, ConnectionSettings settings,
                      ConnectionObserver* observer);
  // nullptr when the connection is gone.
  Connection* connection(Handle h);
  // The connection has queued data (or a close): write it soon. Cheap; coalesced per loop turn.
  void wake(Handle h);
  // Called after received datagrams were handed to the connections and before the connections
  // write, once at the end of each receive batch. A
  // driver that turns received data into more packets for these connections (a channel's ACKs
  // and data, carried in DATAGRAM frames) queues them here: they then leave in the same packets
  // and sendmsg calls as the connections' own ACKs instead of in a second round of writes.
  // The hook must not destroy the endpoint.
  void set_before_write(std::function<void()> hook) { before_write_ = std::move(hook); }
  // Closes with an application error (CONNECTION_CLOSE goes out at once).
  void close(Handle h, std::uint64_t app_error_code, std::string_view reason);
  // Closes every connection and sends the CONNECTION_CLOSE packets before returning.
  void close_all(std::uint64_t app_error_code, std::string_view reason);
  // Forgets a connection without sending anything (tests: a crashed peer). No callback.
  void abandon(Handle h);

  std::size_t connection_count() const { return conns_.size(); }
  const UdpCounters& udp_counters() const { return socket_.counters(); }
  const EndpointCounters& counters() const { return counters_; }

 private:
  struct Entry {
    Entry(asio::io_context& io, Handle h, std::function<void()> on_timer)
        : handle(h), timer(io, std::move(on_timer)) {}
    Handle handle = 0;
    std::unique_ptr<Connection> conn;
    GridTimer timer;  // destroyed with the entry: its callback never runs after that
    bool pending_write = false;
    bool reap = false;
    std::vector<std::string> cids;
  };

  void on_cid_issued(std::uint64_t tag, ByteView cid) override;
  void on_cid_retired(std::uint64_t tag, ByteView cid) override;

  void start_read();
  void on_readable();
  void on_datagram(const Address& from, ByteView data, std::uint8_t ecn, Timestamp now);
  Entry* accept(const Path& path, ByteView data, Timestamp now);
  void send_stateless_reset(const Address& to, ByteView packet, ByteView dcid, Timestamp now);
  void send_version_negotiation(const Address& to, ByteView packet, const ::ngtcp2_version_cid& vc);
  Entry& add(std::unique_ptr<Connection> conn);
  void write(Entry& e, Timestamp now);
  void arm(Entry& e);
  void on_timer(Handle h);
  void flush_pending();
  void mark_pending(Entry& e);
  void reap();
  Entry* find(Handle h);

  asio::io_context& io_;
  EndpointOptions options_;
  UdpSocket socket_;
  std::unique_ptr<asio::ip::udp::socket> asio_socket_;
  GsoSender sender_;
  bool listening_ = false;
  ConnectionSettings server_settings_;
  AcceptHandler on_accept_;
  Handle next_handle_ = 1;
  std::unordered_map<Handle, std::unique_ptr<Entry>> conns_;
  std::unordered_map<std::string, Handle> by_cid_;
  std::vector<Handle> pending_;
  std::size_t unanswered_ = 0;  // datagrams read since the last flush_pending()
  bool reading_ = false;        // in on_readable(), which writes the pending connections itself
  std::function<void()> before_write_;
  bool flush_posted_ = false;
  bool reap_needed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  EndpointCounters counters_;
  Timestamp reset_window_start_ = 0;
  std::uint32_t resets_in_window_ = 0;
};

}  // namespace qc::transport
