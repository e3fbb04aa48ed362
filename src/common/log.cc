#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <mutex>

namespace qc::log {

namespace {
std::mutex g_mu;
spdlog::level::level_enum g_level = spdlog::level::info;
std::string g_pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v";
}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(g_mu);
  if (auto l = spdlog::get(component)) return l;
  auto l = spdlog::stderr_color_mt(component);
  l->set_level(g_level);
  l->set_pattern(g_pattern);
  return l;
}

bool set_level(const std::string& level) {
  auto lv = spdlog::level::from_str(level);
  if (lv == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(g_mu);
  g_level = lv;
  spdlog::apply_all([lv](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lv); });
  return true;
}

void set_process_tag(const std::string& tag) {
  std::lock_guard lock(g_mu);
  g_pattern = "%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + tag + " [%n] %v";
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->set_pattern(g_pattern); });
}

}  // namespace qc::log
