// Test helpers for the identity tests: fixture files made by tests/data/identity/make-vectors.sh.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace qc::identity::testing {

inline std::string data_dir() {
  const char* src = std::getenv("QC_SOURCE_DIR");
  return std::string(src ? src : QC_DEFAULT_SOURCE_DIR) + "/tests/data/identity/";
}

inline std::string read_data(const std::string& name) {
  std::ifstream in(data_dir() + name, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// expected.txt: file -> {key -> value}.
inline std::map<std::string, std::map<std::string, std::string>> expected() {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream in(read_data("expected.txt"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string file, kv;
    ls >> file;
    while (ls >> kv) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) out[file][kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return out;
}

}  // namespace qc::identity::testing
