// Replays a libFuzzer target's entry point in the ordinary test build: every seed of its corpus
// (fuzz/corpus/<name>), then a fixed number of seeded mutations of them. The clang fuzz build
// (scripts/test) explores far more; this keeps each target honest in every build, and the same
// seed gives the same inputs on every run.
//
// Use from a GoogleTest test (the target's source compiled into the test program):
//   extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
//   TEST(FooFuzzReplay, SeedsThenMutations) {
//     qc::testing::replay_corpus_and_mutations(LLVMFuzzerTestOneInput, {.corpus = "foo"});
//   }
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace qc::testing {

using FuzzEntryPoint = int (*)(const std::uint8_t* data, std::size_t size);
using FuzzInput = std::vector<std::uint8_t>;

struct FuzzReplayOptions {
  std::string corpus;          // folder under fuzz/corpus
  std::size_t min_seeds = 5;   // fewer seeds found fails the test (a missing corpus)
  std::uint64_t seed = 12345;  // of the mutations
  std::size_t mutations = 200000;
  std::size_t max_edits = 4;  // each mutation makes 1..max_edits edits
  std::size_t max_size = 64;  // the resize edit makes the input shorter than this
  // Replaces the resize edit when set: e.g. to make a length field agree with the input's size,
  // so that mutations get past the decoder's first check.
  std::function<void(FuzzInput&)> fix_up = nullptr;
};

// The seeds of fuzz/corpus/<name>, from $QC_SOURCE_DIR or else the source tree the test was built
// from; empty when the folder is missing.
inline std::vector<FuzzInput> load_fuzz_corpus(const std::string& name) {
  std::vector<FuzzInput> out;
  const char* env = std::getenv("QC_SOURCE_DIR");
  std::filesystem::path root;
  if (env != nullptr) {
    root = env;
  } else {
#ifdef QC_SOURCE_DIR_BUILT
    root = QC_SOURCE_DIR_BUILT;
#else
    return out;
#endif
  }
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(root / "fuzz" / "corpus" / name, ec)) {
    std::ifstream f(entry.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return out;
}

// Runs `entry` on every seed, then on `options.mutations` mutated seeds (byte changes, inserts,
// erases, and a resize or `fix_up`). A crash or sanitizer report fails the test program.
inline void replay_corpus_and_mutations(FuzzEntryPoint entry, const FuzzReplayOptions& options) {
  std::vector<FuzzInput> corpus = load_fuzz_corpus(options.corpus);
  EXPECT_GE(corpus.size(), options.min_seeds)
      << "seed corpus fuzz/corpus/" << options.corpus << " not found (QC_SOURCE_DIR)";
  for (const auto& s : corpus) entry(s.data(), s.size());
  std::mt19937_64 rng(options.seed);
  corpus.push_back({0});
  for (std::size_t run = 0; run < options.mutations; ++run) {
    FuzzInput in = corpus[rng() % corpus.size()];
    std::size_t edits = 1 + rng() % options.max_edits;
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
          if (options.fix_up) {
            options.fix_up(in);
          } else {
            in.resize(rng() % options.max_size, static_cast<std::uint8_t>(rng()));
          }
          break;
      }
    }
    entry(in.data(), in.size());
  }
}

}  // namespace qc::testing
