// The libFuzzer target fuzz/fuzz_control_frame.cc on its seed corpus and seeded mutations, in the
// ordinary test build (common/testing/fuzz_replay.h).
#include "common/testing/fuzz_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(ControlFrameReplayTest, SeedsThenMutations) {
  qc::testing::replay_corpus_and_mutations(
      LLVMFuzzerTestOneInput,
      {.corpus = "control_frame", .mutations = 500000, .max_edits = 8, .max_size = 256});
}

}  // namespace
