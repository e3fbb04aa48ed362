// Subcommands of `qc`. Each file NAME_command.cc defines one add_NAME_command(), which adds its
// subcommand to the root app; the subcommand's callback stores its exit code in *exit_code.
#pragma once

#include <CLI/CLI.hpp>

namespace qc::cli {

void add_cert_command(CLI::App& root, int* exit_code);
void add_node_command(CLI::App& root, int* exit_code);
void add_demo_command(CLI::App& root, int* exit_code);
void add_status_command(CLI::App& root, int* exit_code);
void add_peers_command(CLI::App& root, int* exit_code);
void add_routes_command(CLI::App& root, int* exit_code);
void add_circuits_command(CLI::App& root, int* exit_code);
void add_connect_command(CLI::App& root, int* exit_code);
void add_ping_command(CLI::App& root, int* exit_code);
void add_trace_command(CLI::App& root, int* exit_code);

}  // namespace qc::cli
