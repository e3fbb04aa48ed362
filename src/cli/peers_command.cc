// qc peers: the node's neighbour sessions and the peers its database knows.
#include <chrono>

#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_peers_command(CLI::App& root, int* exit_code) {
  auto* cmd =
      root.add_subcommand("peers", "Show a running node's neighbour sessions and known peers");
  auto t = add_control_options(cmd);
  cmd->callback([t, exit_code] {
    auto r = ask_node_for_text(*t, "peers", nlohmann::json::object(), 10, exit_code);
    if (!r) return;
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : (*r)["sessions"]) {
      char rtt[32];
      std::snprintf(rtt, sizeof rtt, "%.2f ms", s.value("rtt_ms", 0.0));
      rows.push_back({s.value("peer", ""), s.value("interface", ""), s.value("remote", ""),
                      s.value("dialled", false) ? "dialled" : "accepted", rtt});
    }
    std::printf("sessions\n");
    print_table({"PEER", "INTERFACE", "REMOTE", "DIRECTION", "RTT"}, rows);
    rows.clear();
    auto now_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    for (const auto& p : (*r)["known"]) {
      std::string last;
      for (const auto& [k, v] : p["last_seen_ms"].items())
        last += (last.empty() ? "" : ", ") + k + " " + age_text((now_ms - v.get<double>()) / 1000) +
                " ago";
      std::string addrs;
      for (const auto& a : p["addresses"])
        addrs += (addrs.empty() ? "" : " ") + a.get<std::string>();
      rows.push_back(
          {p.value("peer", ""), p.value("certificate", false) ? "yes" : "no", addrs, last});
    }
    std::printf("\nknown peers\n");
    print_table({"PEER", "CERT", "ADDRESSES", "LAST SEEN"}, rows);
  });
}

}  // namespace qc::cli
