#include "cli/control_client.h"

#include <cstdio>
#include <filesystem>

#include "daemon/config.h"
#include "daemon/control_server.h"

namespace qc::cli {

std::shared_ptr<ControlTarget> add_control_options(CLI::App* cmd) {
  auto t = std::make_shared<ControlTarget>();
  cmd->add_option("--socket", t->socket,
                  "The node's control socket (default: <data_dir>/control.sock)");
  cmd->add_option("-c,--config", t->config,
                  "The node's configuration file, to find its control socket (default: node.toml)");
  cmd->add_flag("--json", t->json, "Print the node's answer as JSON, for scripts");
  return t;
}

std::optional<nlohmann::json> ask_node(const ControlTarget& t, const std::string& cmd,
                                       nlohmann::json args, double timeout_seconds) {
  std::string path = t.socket;
  if (path.empty()) {
    std::string cfg = t.config.empty() ? "node.toml" : t.config;
    if (t.config.empty() && !std::filesystem::exists(cfg)) {
      std::fprintf(stderr,
                   "qc %s: which node? pass --config FILE (the node's configuration) or "
                   "--socket PATH (its control socket)\n",
                   cmd.c_str());
      return std::nullopt;
    }
    auto c = daemon::load_config(cfg);
    if (!c) {
      std::fprintf(stderr, "qc %s: %s\n", cmd.c_str(), c.error().message.c_str());
      return std::nullopt;
    }
    path = c->control_socket();
  }
  args["cmd"] = cmd;
  auto r = daemon::control_request(path, args, timeout_seconds);
  if (!r) {
    std::fprintf(stderr, "qc %s: %s\n", cmd.c_str(), r.error().message.c_str());
    return std::nullopt;
  }
  if (!r->value("ok", false)) {
    if (t.json) std::printf("%s\n", r->dump(2).c_str());
    std::fprintf(stderr, "qc %s: %s\n", cmd.c_str(),
                 r->value("error", std::string("failed")).c_str());
    return std::nullopt;
  }
  return *r;
}

std::shared_ptr<std::string> add_peer_argument(CLI::App* cmd) {
  auto peer = std::make_shared<std::string>();
  cmd->add_option("peer", *peer,
                  "Text id, <text id>.<suffix>, cluster IPv6 address or hex id prefix")
      ->required();
  return peer;
}

std::optional<nlohmann::json> ask_node_for_text(const ControlTarget& t, const std::string& cmd,
                                                nlohmann::json args, double timeout_seconds,
                                                int* exit_code) {
  auto r = ask_node(t, cmd, std::move(args), timeout_seconds);
  if (!r) {
    *exit_code = 1;
    return std::nullopt;
  }
  if (t.json) {
    std::printf("%s\n", r->dump(2).c_str());
    return std::nullopt;
  }
  return r;
}

std::string path_text(const nlohmann::json& path) {
  std::string out;
  for (const auto& p : path) {
    if (!out.empty()) out += " -> ";
    out += p.is_string() ? p.get<std::string>() : p.dump();
  }
  return out;
}

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      s += cell;
      if (i + 1 < w.size()) s += std::string(w[i] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::printf("%s\n", s.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
  if (rows.empty()) std::printf("(none)\n");
}

std::string age_text(double s) {
  char buf[32];
  if (s < 1)
    std::snprintf(buf, sizeof buf, "%.0f ms", s * 1000);
  else if (s < 120)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%.0f h", s / 3600);
  return buf;
}

}  // namespace qc::cli
