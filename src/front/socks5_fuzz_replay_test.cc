// Runs the libFuzzer target's entry point (fuzz/fuzz_socks5_request.cc) in the ordinary test
// build: every seed in fuzz/corpus/socks5_request, then a fixed number of seeded mutations. The
// clang fuzz build explores far more; this keeps the target honest in every build.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::vector<std::uint8_t>> seeds() {
  std::vector<std::vector<std::uint8_t>> out;
  const char* src = std::getenv("QC_SOURCE_DIR");
  std::filesystem::path root = src != nullptr ? src : QC_SOURCE_DIR_BUILT;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(root / "fuzz" / "corpus" / "socks5_request", ec)) {
    std::ifstream f(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST(Socks5FuzzReplay, SeedsThenMutations) {
  auto corpus = seeds();
  EXPECT_GE(corpus.size(), 10u) << "seed corpus not found (QC_SOURCE_DIR)";
  for (const auto& s : corpus) LLVMFuzzerTestOneInput(s.data(), s.size());
  std::mt19937_64 rng(20261127);
  corpus.push_back({0});
  for (int run = 0; run < 200000; ++run) {
    std::vector<std::uint8_t> in = corpus[rng() % corpus.size()];
    std::size_t edits = 1 + rng() % 6;
    for (std::size_t i = 0; i < edits; ++i) {
      switch (rng() % 4) {
        case 0:
          if (!in.empty()) in[rng() % in.size()] = static_cast<std::uint8_t>(rng());
          break;
        case 1:
          in.insert(in.begin() + static_cast<std::ptrdiff_t>(rng() % (in.size() + 1)),
                    static_cast<std::uint8_t>(rng()));
          break;
        case 2:
          if (!in.empty()) in.erase(in.begin() + static_cast<std::ptrdiff_t>(rng() % in.size()));
          break;
        default:
          in.resize(rng() % 600, static_cast<std::uint8_t>(rng()));
          break;
      }
    }
    LLVMFuzzerTestOneInput(in.data(), in.size());
  }
}

}  // namespace
