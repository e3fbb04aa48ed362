// qc node: runs one node from its TOML configuration until SIGINT/SIGTERM.
#include <cstdio>

#include "cli/commands.h"
#include "daemon/config.h"
#include "daemon/node.h"

namespace qc::cli {

void add_node_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("node", "Run a node (until SIGINT or SIGTERM)");
  auto config = std::make_shared<std::string>();
  auto level = std::make_shared<std::string>();
  cmd->add_option("-c,--config", *config, "The node's TOML configuration file")->required();
  cmd->add_option("--log-level", *level, "Override log_level (trace, debug, info, warn, error)");
  cmd->footer(
      "The configuration names the identity files, the UDP listen address and the static peers; "
      "see docs/configuration.md. Example: qc node --config alpha/node.toml");
  cmd->callback([config, level, exit_code] {
    auto c = daemon::load_config(*config);
    if (!c) {
      std::fprintf(stderr, "qc node: %s\n", c.error().message.c_str());
      *exit_code = 1;
      return;
    }
    if (!level->empty()) c->log_level = *level;
    *exit_code = daemon::run_node(*c);
  });
}

}  // namespace qc::cli
