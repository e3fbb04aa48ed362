// qc: the quic-channel command. See `qc --help`.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"quic-channel: a mesh VPN over QUIC with signed, source-routed circuits", "qc"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qc 0.1.0");
  int exit_code = 0;
  qc::cli::add_cert_command(app, &exit_code);
  qc::cli::add_node_command(app, &exit_code);
  qc::cli::add_demo_command(app, &exit_code);
  qc::cli::add_status_command(app, &exit_code);
  qc::cli::add_peers_command(app, &exit_code);
  qc::cli::add_routes_command(app, &exit_code);
  qc::cli::add_circuits_command(app, &exit_code);
  qc::cli::add_connect_command(app, &exit_code);
  qc::cli::add_ping_command(app, &exit_code);
  qc::cli::add_trace_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
