// Node: one quic-channel node on one event loop. It loads the identity, runs the neighbour
// sessions (link::SessionManager) on the configured UDP address, keeps sessions to the static
// peers up (re-dialling with backoff), and logs session up/down with peer text ids. Later layers
// (discovery, routing, circuits, channels, front ends) are wired here as they are built.
//
// Threading rule: single-threaded. Create, call and destroy on the thread that runs `io`.
// Other threads use post() on that io_context to reach it (see Node::snapshot()).
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "daemon/config.h"
#include "identity/identity.h"
#include "link/session_manager.h"

namespace qc::daemon {

// A neighbour session as the node reports it.
struct SessionView {
  std::string peer_text_id;
  identity::NodeId peer_id{};
  std::string remote;    // host:port of the peer
  bool dialled = false;  // we dialled it (else the peer did)
  double rtt_ms = 0;     // QUIC smoothed RTT
  std::uint32_t interface_id = 0;
};

class Node {
 public:
  // Loads the identity files named by `config` (errors name the file and what is wrong).
  static Result<std::unique_ptr<Node>> create(asio::io_context& io, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Binds the UDP port, starts accepting, dials the static peers. kIo when the port is taken.
  Result<void> start();
  // Closes every session (peers are told) and stops re-dialling. Idempotent.
  void stop();

  const identity::Identity& identity() const { return *identity_; }
  const NodeConfig& config() const { return config_; }
  std::string label() const;  // name if configured, else text id
  std::uint16_t port() const;
  std::vector<SessionView> sessions();

  // Called on the loop thread whenever a session comes up (true) or goes down (false).
  std::function<void(const SessionView&, bool up)> on_session_change;

 private:
  Node(asio::io_context& io, NodeConfig config, std::unique_ptr<identity::Identity> id);
  void add_static_peers();
  void resolve_later(std::size_t index, Duration delay);
  static SessionView view(link::Session& s, std::uint32_t interface_id);

  asio::io_context& io_;
  NodeConfig config_;
  std::unique_ptr<identity::Identity> identity_;
  std::unique_ptr<link::SessionManager> sessions_;
  std::vector<std::unique_ptr<asio::steady_timer>> resolve_timers_;
  bool stopped_ = false;
};

// Runs a node from `config` until SIGINT or SIGTERM; returns the process exit code (0 after a
// clean stop, 1 when the node could not start, with the reason logged).
int run_node(const NodeConfig& config);

}  // namespace qc::daemon
