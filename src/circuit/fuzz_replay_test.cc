// The libFuzzer target fuzz/fuzz_circuit_packet.cc on its seed corpus and seeded mutations, in the
// ordinary test build (common/testing/fuzz_replay.h).
#include "common/testing/fuzz_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(CircuitPacketFuzzReplayTest, SeedsThenMutations) {
  qc::testing::replay_corpus_and_mutations(LLVMFuzzerTestOneInput, {.corpus = "circuit_packet"});
}

}  // namespace
