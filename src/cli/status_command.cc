// qc status: who a running node is and what it runs.
#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_status_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand("status", "Show a running node's identity, links and counters");
  auto t = add_control_options(cmd);
  cmd->callback([t, exit_code] {
    auto r = ask_node_for_text(*t, "status", nlohmann::json::object(), 10, exit_code);
    if (!r) return;
    std::printf("node      %s (%s)\nhostname  %s\naddress   %s\ncluster   %s\n",
                r->value("name", "").c_str(), r->value("text_id", "").c_str(),
                r->value("hostname", "").c_str(), r->value("address", "").c_str(),
                r->value("cluster", "").c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : (*r)["links"])
      rows.push_back({l.value("interface", ""), l.value("address", ""),
                      std::to_string(l.value("sessions", 0))});
    if (r->contains("vpn")) {
      const auto& v = (*r)["vpn"];
      const auto& c = v["counters"];
      std::printf(
          "vpn       %s, MTU %zu: %llu packets to the mesh, %llu from it, %llu unreachable, "
          "%llu spoofed\n",
          v.value("device", "").c_str(), v.value("mtu", std::size_t{0}),
          static_cast<unsigned long long>(c.value("mesh_sent", 0ull)),
          static_cast<unsigned long long>(c.value("tun_written", 0ull)),
          static_cast<unsigned long long>(c.value("unreachable", 0ull)),
          static_cast<unsigned long long>(c.value("mesh_spoofed", 0ull)));
    }
    std::printf("\n");
    print_table({"LINK", "UDP", "SESSIONS"}, rows);
  });
}

}  // namespace qc::cli
