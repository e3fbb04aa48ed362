// One circuit a channel can send on, with what the channel learnt about it. Plain value type.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "circuit/packet.h"
#include "common/clock.h"

namespace qc::channel {

struct ChannelPath {
  circuit::SessionId session = 0;
  circuit::Label label = 0;
  bool failed = false;      // probes unanswered or the session closed; not used for sending
  unsigned unanswered = 0;  // probes in a row without an answer
  bool dead = false;        // its session refused a packet as closed: never used again
  std::uint64_t probe_seq = 0;
  Timestamp probe_sent = 0;  // 0: no probe outstanding
  // The last probes sent: an answer to any of them counts, however late (a loaded path answers
  // after the next probe went out; taking only the newest would fail every busy path).
  struct SentProbe {
    std::uint64_t seq = 0;
    Timestamp sent = 0;
  };
  std::array<SentProbe, 32> sent_probes{};
  std::uint64_t answered_seq = 0;  // the newest probe answered
  Duration rtt = 0;          // from the last answered probe; 0 = not measured yet
  // Smallest circuit payload room reported by the relays (max when unknown).
  std::size_t hop_room = std::numeric_limits<std::size_t>::max();
  std::vector<circuit::HopStats> hops;  // the last answer's per-hop statistics
  std::uint64_t packets_sent = 0;
  std::uint64_t too_big = 0;  // channel packets the first hop refused as too big
};

}  // namespace qc::channel
