// What the inspection commands (qc status, peers, routes, circuits, connect) share: finding the
// node's control socket, asking it, and printing tables.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace qc::cli {

struct ControlTarget {
  std::string socket;  // --socket PATH
  std::string config;  // --config FILE (its data_dir holds control.sock)
  bool json = false;   // --json: print the raw answer
};

// Adds --socket, --config and --json to `cmd`.
std::shared_ptr<ControlTarget> add_control_options(CLI::App* cmd);

// Sends {"cmd": cmd, ...args} to the node and returns its answer, or prints the error (with what
// to do) and returns nullopt.
std::optional<nlohmann::json> ask_node(const ControlTarget& t, const std::string& cmd,
                                       nlohmann::json args = nlohmann::json::object(),
                                       double timeout_seconds = 10);

// Adds the required positional PEER argument of ping, connect and trace.
std::shared_ptr<std::string> add_peer_argument(CLI::App* cmd);

// Asks the node like ask_node; with --json prints the answer and returns nullopt as well, so the
// caller prints its own text only when it gets a value. `*exit_code` is 1 when the request failed.
std::optional<nlohmann::json> ask_node_for_text(const ControlTarget& t, const std::string& cmd,
                                                nlohmann::json args, double timeout_seconds,
                                                int* exit_code);

// "a -> b -> c" from a JSON array of text ids.
std::string path_text(const nlohmann::json& path);

// Prints rows as an aligned table with a header.
void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// "1.23 s", "250 ms".
std::string age_text(double seconds);

}  // namespace qc::cli
