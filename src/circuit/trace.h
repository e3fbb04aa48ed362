// Trace: what `qc trace` learns about one circuit from dedicated statistics probes (packet.h).
//
// The originator sends a non-reply stats packet along the circuit; every relay appends one hop
// record carrying its session's smoothed RTT toward the next hop, its push-back queue and drops
// toward it, and the room there; the far endpoint turns the packet into a reply. So for a path
// us -> R1 -> ... -> Rn -> peer, one answer gives:
//   link 1 (us -> R1):     our own session's RTT, queue, drops and room (the caller adds them)
//   link k+1 (Rk -> next): relay k's record
// and the RTT from us to hop k is the sum of the links' RTTs up to it. The probe's own round trip
// (sent -> answer) is kept beside: it is measured end to end through every relay's forwarding.
//
// Trace probes carry sequence numbers with kTraceSeqBit set; a channel's path probes count up
// from 1 and never reach it, so the node can tell the answers apart.
//
// Pure (no IO, no clock: `now` is passed in); single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "circuit/packet.h"
#include "common/clock.h"

namespace qc::circuit {

constexpr std::uint64_t kTraceSeqBit = std::uint64_t{1} << 61;
inline bool is_trace_seq(std::uint64_t seq) {
  return (seq & kTraceSeqBit) != 0;
}

// What the originator knows of its own first link when an answer arrives.
struct FirstLink {
  Duration rtt = 0;         // the session's smoothed RTT
  std::uint32_t queue = 0;  // datagrams in our push-back queue toward the first hop
  std::uint32_t drops = 0;  // datagrams we dropped toward it (total)
  std::uint32_t room = 0;   // circuit payload room on it
};

// One answered probe.
struct TraceSample {
  Duration round_trip = 0;  // probe sent -> answer received
  FirstLink first;
  std::vector<HopStats> relays;  // the relays' records, path order
};

// Minimum and median (the lower middle value) of a set of durations.
struct MinMedian {
  Duration min = 0;
  Duration median = 0;
};
std::optional<MinMedian> min_median(std::vector<Duration> values);

// The link into hop `hop` (1 = our neighbour on the circuit), over every answer that reached it.
struct TraceHop {
  std::size_t hop = 0;
  std::size_t samples = 0;  // answers that carried this link's statistics
  MinMedian rtt;            // from us to this hop: the sum of the links' RTTs up to it
  MinMedian step;           // this link's RTT alone
  std::uint32_t queue_max = 0;
  std::uint32_t drops = 0;  // the last answer's count (a running total at the sender)
  std::uint32_t room_min = 0;
};

struct TraceSummary {
  std::size_t sent = 0;
  std::size_t answered = 0;
  std::optional<MinMedian> round_trip;  // none when nothing was answered
  // One row per link that some answer described: relays reported + 1 (0 rows with no answer).
  std::vector<TraceHop> hops;
};

// Summarises answered probes (pure; see the file comment for what each row means).
TraceSummary summarize(const std::vector<TraceSample>& samples, std::size_t sent);

// The probes of one trace on one circuit: numbers them, matches the answers.
class TraceProbe {
 public:
  // `trace_id` tells concurrent traces apart (only its low 44 bits are used).
  explicit TraceProbe(std::uint64_t trace_id) : id_(trace_id & ((std::uint64_t{1} << 44) - 1)) {}

  // The next probe's stats body (encode with PacketType::kStats); remembers when it was sent.
  Bytes next(Timestamp now);
  // An answer on this circuit. True when it answered one of our outstanding probes (each is
  // taken once); false for anything else (not a reply, another trace, a duplicate).
  bool on_answer(const StatsBody& answer, const FirstLink& first, Timestamp now);

  std::size_t sent() const { return sent_; }
  std::size_t answered() const { return samples_.size(); }
  bool all_answered() const { return outstanding_.empty(); }
  const std::vector<TraceSample>& samples() const { return samples_; }
  TraceSummary summary() const { return summarize(samples_, sent_); }

 private:
  struct Outstanding {
    std::uint64_t seq;
    Timestamp sent_at;
  };
  std::uint64_t id_;
  std::size_t sent_ = 0;
  std::vector<Outstanding> outstanding_;
  std::vector<TraceSample> samples_;
};

}  // namespace qc::circuit
