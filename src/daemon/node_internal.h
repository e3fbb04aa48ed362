// Private parts of Node shared by its .cc files (node.cc, node_links.cc, node_routing.cc,
// node_control.cc). Not part of the daemon's interface.
#pragma once

#include <map>

#include "common/log.h"
#include "daemon/node.h"
#include "discovery/discovery.h"
#include "peerdb/peer_db.h"
#include "routing/identity_crypto.h"
#include "routing/router.h"

namespace qc::daemon {

inline std::shared_ptr<spdlog::logger> node_log() {
  return log::get("node");
}

inline Duration seconds(double s) {
  return static_cast<Duration>(s * 1e9);
}

// One local interface's sessions: a SessionManager on its own UDP socket (bound to the interface
// when per-interface links are on), or the listen-address link (slot 0).
struct Node::Link {
  std::size_t slot = 0;            // index in links_; never reused
  std::uint32_t interface_id = 0;  // routing's interface id
  std::string name;                // interface name, "" for the listen-address link
  std::unique_ptr<link::SessionManager> mgr;
  std::map<std::string, Timestamp> last_dial;  // "partial@address" -> when we last dialled it
};

// A `qc connect` waiting for its first circuit.
struct Node::Waiter {
  routing::PeerPrefix peer;
  std::function<void(Result<nlohmann::json>)> done;
  std::unique_ptr<asio::steady_timer> timer;
  bool finished = false;
};

// Route-session ids: (slot + 1) << 40 | link::Session::Id.
inline std::uint64_t make_route_session(std::size_t slot, link::Session::Id sid) {
  return (static_cast<std::uint64_t>(slot + 1) << 40) | sid;
}
inline std::size_t route_session_slot(std::uint64_t rs) {
  return static_cast<std::size_t>(rs >> 40) - 1;
}
inline link::Session::Id route_session_sid(std::uint64_t rs) {
  return rs & ((1ull << 40) - 1);
}

std::string text_of_partial_bytes(const std::string& bytes);

}  // namespace qc::daemon
