// qc ping PEER: round trips over the end-to-end channel to PEER (opened on demand over circuits),
// with the circuit's hops.
#include <algorithm>

#include "cli/commands.h"
#include "cli/control_client.h"

namespace qc::cli {

void add_ping_command(CLI::App& root, int* exit_code) {
  auto* cmd = root.add_subcommand(
      "ping", "Round trips over the encrypted channel to a peer, through its circuit");
  auto t = add_control_options(cmd);
  auto peer = add_peer_argument(cmd);
  auto count = std::make_shared<int>(3);
  auto interval = std::make_shared<double>(0.2);
  auto timeout = std::make_shared<double>(10);
  cmd->add_option("-n,--count", *count, "How many pings (default 3)");
  cmd->add_option("-i,--interval", *interval, "Seconds between pings (default 0.2)");
  cmd->add_option("--timeout", *timeout, "Seconds to wait for a circuit and channel (default 10)");
  cmd->callback([t, peer, count, interval, timeout, exit_code] {
    double wait = *timeout + *interval * *count + 5;
    auto r = ask_node_for_text(
        *t, "ping",
        {{"peer", *peer}, {"count", *count}, {"interval", *interval}, {"timeout", *timeout}}, wait,
        exit_code);
    if (!r) return;
    const auto& c = (*r)["circuit"];
    std::string path = path_text(c["path"]);
    std::printf("channel to %s over circuit %s, %d hop%s: %s\n", c.value("remote", "").c_str(),
                c.value("circuit_id", "").c_str(), c.value("hops", 0),
                c.value("hops", 0) == 1 ? "" : "s", path.c_str());
    std::vector<double> rtts = (*r)["rtt_ms"].get<std::vector<double>>();
    for (std::size_t i = 0; i < rtts.size(); ++i)
      std::printf("reply %zu: rtt %.3f ms\n", i + 1, rtts[i]);
    int lost = r->value("lost", 0);
    if (!rtts.empty()) {
      auto [mn, mx] = std::minmax_element(rtts.begin(), rtts.end());
      double sum = 0;
      for (double x : rtts) sum += x;
      std::printf("%zu replies, %d lost; rtt min/avg/max %.3f/%.3f/%.3f ms\n", rtts.size(), lost,
                  *mn, sum / static_cast<double>(rtts.size()), *mx);
    }
    if (rtts.empty()) *exit_code = 1;
  });
}

}  // namespace qc::cli
