// qc routes: the complete routes a running node has cached (tried before flooding probes).
#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_routes_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("routes", "Show the routes a running node has cached");
  auto t = add_control_options(cmd);
  cmd->callback([t, exit_code] {
    auto r = ask_node_for_text(*t, "routes", nlohmann::json::object(), 10, exit_code);
    if (!r) return;
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : (*r)["routes"]) {
      std::string path = path_text(c["path"]);
      rows.push_back({c.value("destination", ""), std::to_string(c.value("hops", 0)), path});
    }
    print_table({"DESTINATION", "HOPS", "PATH"}, rows);
  });
}

}  // namespace qc::cli
