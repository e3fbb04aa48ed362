// qc connect PEER: asks a running node for a circuit to PEER and prints it (or why not).
#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_connect_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand(
      "connect", "Ask a running node for a circuit to a peer; prints the path once established");
  auto t = add_control_options(cmd);
  auto peer = std::make_shared<std::string>();
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("peer", *peer,
                  "Text id, <text id>.<suffix>, cluster IPv6 address or hex id prefix")
      ->required();
  cmd->add_option("--timeout", *timeout, "Seconds to wait for the first circuit (default 10)");
  cmd->callback([t, peer, timeout, exit_code] {
    auto r = ask_node(*t, "connect", {{"peer", *peer}, {"timeout", *timeout}}, *timeout + 5);
    if (!r) {
      *exit_code = 1;
      return;
    }
    if (t->json) {
      std::printf("%s\n", r->dump(2).c_str());
      return;
    }
    const auto& c = (*r)["circuit"];
    std::string path;
    for (const auto& p : c["path"]) path += (path.empty() ? "" : " -> ") + p.get<std::string>();
    std::printf("circuit %s to %s, %d hop%s: %s\n", c.value("circuit_id", "").c_str(),
                c.value("remote", "").c_str(), c.value("hops", 0),
                c.value("hops", 0) == 1 ? "" : "s", path.c_str());
  });
}

}  // namespace qc::cli
