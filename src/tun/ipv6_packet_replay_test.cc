// The libFuzzer target fuzz/fuzz_ipv6_packet.cc on its seed corpus and seeded mutations, in the
// ordinary test build (common/testing/fuzz_replay.h).
#include "common/testing/fuzz_replay.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

TEST(Ipv6PacketReplayTest, SeedsThenMutations) {
  qc::testing::FuzzReplayOptions o{
      .corpus = "ipv6_packet", .min_seeds = 10, .seed = 7, .mutations = 20000};
  // Keep the IPv6 payload length consistent now and then, so mutations get past it.
  o.fix_up = [](qc::testing::FuzzInput& in) {
    if (in.size() >= 41) {
      std::size_t len = in.size() - 41;
      in[5] = static_cast<std::uint8_t>(len >> 8);
      in[6] = static_cast<std::uint8_t>(len);
    }
  };
  qc::testing::replay_corpus_and_mutations(LLVMFuzzerTestOneInput, o);
}

}  // namespace
