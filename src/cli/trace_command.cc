// qc trace PEER: the circuits to PEER hop by hop, with the RTT from this node to every hop and
// each link's share, from statistics probes sent along each circuit (docs/channel.md).
#include <cstdio>

#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

namespace {

std::string min_median(const nlohmann::json& m) {
  if (!m.is_object()) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f / %.3f", m.value("min", 0.0), m.value("median", 0.0));
  return buf;
}

std::string number(const nlohmann::json& row, const char* key) {
  return row.contains(key) ? std::to_string(row[key].get<std::uint64_t>()) : "-";
}

}  // namespace

void add_trace_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand(
      "trace", "Show the circuits to a peer hop by hop, with the round-trip time to every hop");
  cmd->footer(
      "Sends statistics probes along every established circuit to the peer (building one first "
      "if there is none). Each relay adds its session's round-trip time toward the next hop, its "
      "queue and drops toward it and the room there; RTT is the sum of the links' times from "
      "this node to the hop, +LINK the last link's alone (min / median over the answers, in "
      "ms). The round trip line is the probes' own time there and back.");
  auto t = add_control_options(cmd);
  auto peer = add_peer_argument(cmd);
  auto count = std::make_shared<int>(5);
  auto interval = std::make_shared<double>(0.1);
  auto wait = std::make_shared<double>(2);
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("-n,--count", *count, "Probes per circuit (default 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("-i,--interval", *interval, "Seconds between probes (default 0.1)")
      ->check(CLI::Range(0.001, 10.0));
  cmd->add_option("--wait", *wait, "Seconds to wait for answers after the last probe (default 2)")
      ->check(CLI::Range(0.01, 60.0));
  cmd->add_option("--timeout", *timeout, "Seconds to wait for a circuit (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  cmd->callback([t, peer, count, interval, wait, timeout, exit_code] {
    double limit = *timeout + *interval * *count + *wait + 5;
    auto r = ask_node(*t, "trace",
                      {{"peer", *peer},
                       {"count", *count},
                       {"interval", *interval},
                       {"wait", *wait},
                       {"timeout", *timeout}},
                      limit);
    if (!r) {
      *exit_code = 1;
      return;
    }
    bool any = false;
    for (const auto& c : (*r)["circuits"]) any = any || c.value("answered", 0) > 0;
    if (!any) *exit_code = 1;
    if (t->json) {
      std::printf("%s\n", r->dump(2).c_str());
      return;
    }
    const auto& circuits = (*r)["circuits"];
    std::printf("trace to %s: %zu circuit%s, %d probe%s each\n", r->value("peer", "").c_str(),
                circuits.size(), circuits.size() == 1 ? "" : "s", r->value("count", 0),
                r->value("count", 0) == 1 ? "" : "s");
    for (const auto& c : circuits) {
      std::string path = path_text(c["path"]);
      std::printf("\ncircuit %s (%s%s): %s\n", c.value("circuit_id", "").c_str(),
                  c.value("role", "").c_str(),
                  c.value("channel_path", false) ? ", channel path in use" : "", path.c_str());
      std::vector<std::vector<std::string>> rows;
      for (const auto& h : c["hops"]) {
        rows.push_back({std::to_string(h.value("hop", 0)), h.value("peer", ""),
                        min_median(h.value("rtt_ms", nlohmann::json())),
                        min_median(h.value("step_ms", nlohmann::json())), number(h, "queue"),
                        number(h, "drops"), number(h, "room")});
      }
      print_table({"HOP", "NODE", "RTT MS (MIN / MEDIAN)", "+LINK MS", "QUEUE", "DROPS", "ROOM"},
                  rows);
      std::printf("round trip %s ms; %d of %d probes answered\n",
                  min_median(c.value("round_trip_ms", nlohmann::json())).c_str(),
                  c.value("answered", 0), c.value("sent", 0));
    }
  });
}

}  // namespace qc::cli
