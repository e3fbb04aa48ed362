// The libFuzzer target fuzz/fuzz_socks5_request.cc on its seed corpus and seeded mutations, in
// the ordinary test build (common/testing/fuzz_replay.h).
#include "common/testing/fuzz_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(Socks5FuzzReplay, SeedsThenMutations) {
  qc::testing::replay_corpus_and_mutations(LLVMFuzzerTestOneInput, {.corpus = "socks5_request",
                                                                    .min_seeds = 10,
                                                                    .seed = 20261127,
                                                                    .max_edits = 6,
                                                                    .max_size = 600});
}

}  // namespace
