// qc connect PEER: asks a running node for a circuit to PEER and prints it (or why not).
#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_connect_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand(
      "connect", "Ask a running node for a circuit to a peer; prints the path once established");
  auto t = add_control_options(cmd);
  auto peer = add_peer_argument(cmd);
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("--timeout", *timeout, "Seconds to wait for the first circuit (default 10)");
  cmd->callback([t, peer, timeout, exit_code] {
    auto r = ask_node_for_text(*t, "connect", {{"peer", *peer}, {"timeout", *timeout}},
                               *timeout + 5, exit_code);
    if (!r) return;
    const auto& c = (*r)["circuit"];
    std::string path = path_text(c["path"]);
    std::printf("circuit %s to %s, %d hop%s: %s\n", c.value("circuit_id", "").c_str(),
                c.value("remote", "").c_str(), c.value("hops", 0),
                c.value("hops", 0) == 1 ? "" : "s", path.c_str());
  });
}

}  // namespace qc::cli
