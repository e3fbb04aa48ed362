// Logging: one spdlog logger per component ("identity", "transport", "link", "routing", "node",
// ...), all writing to stderr with the same pattern. Conventions (docs/ARCHITECTURE.md):
//   error  - the node lost something or cannot do what it was told; says what to do next
//   warn   - a peer misbehaved or an operation failed and will be retried
//   info   - state changes a user cares about (session up/down, circuit established)
//   debug  - per-message detail; trace - per-packet detail
// Peers are always named by text id.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace qc::log {

// Returns the logger for `component`, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// Sets the level of every logger, present and future. Accepts trace, debug, info, warn, error,
// critical, off. Returns false on an unknown name.
bool set_level(const std::string& level);

// Prefix every line with `tag` (e.g. a node's text id when several nodes share a process).
void set_process_tag(const std::string& tag);

}  // namespace qc::log
