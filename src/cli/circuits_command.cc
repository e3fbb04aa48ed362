// qc circuits: the circuits a running node takes part in (as originator, relay or destination).
#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_circuits_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("circuits", "Show the circuits a running node is part of");
  auto t = add_control_options(cmd);
  cmd->callback([t, exit_code] {
    auto r = ask_node_for_text(*t, "circuits", nlohmann::json::object(), 10, exit_code);
    if (!r) return;
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : (*r)["circuits"]) {
      std::string path = path_text(c["path"]);
      rows.push_back({c.value("circuit_id", ""), c.value("role", ""), c.value("state", ""),
                      age_text(c.value("expires_in_s", 0.0)), path});
    }
    print_table({"CIRCUIT", "ROLE", "STATE", "EXPIRES IN", "PATH"}, rows);
  });
}

}  // namespace qc::cli
