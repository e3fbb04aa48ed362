// Trace probes: numbering, matching answers, and the per-hop summary; one probe through a relay
// DataPlane picks up the relay's hop record.
#include "circuit/trace.h"

#include <gtest/gtest.h>

#include <map>

#include "circuit/data_plane.h"

namespace qc::circuit {
namespace {

StatsBody answer_to(const Bytes& probe, std::vector<HopStats> relays) {
  auto s = decode_stats(probe);
  EXPECT_TRUE(s);
  s->reply = true;
  s->hops = std::move(relays);
  return *s;
}

TEST(Trace, MinMedian) {
  EXPECT_FALSE(min_median({}));
  auto m = min_median({5, 1, 3});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->min, 1u);
  EXPECT_EQ(m->median, 3u);
  m = min_median({4, 2, 8, 6});  // the lower middle value
  EXPECT_EQ(m->min, 2u);
  EXPECT_EQ(m->median, 4u);
}

TEST(Trace, ProbesAreTraceNumberedAndValidStats) {
  TraceProbe t(42);
  Bytes a = t.next(0), b = t.next(0);
  auto sa = decode_stats(a), sb = decode_stats(b);
  ASSERT_TRUE(sa);
  ASSERT_TRUE(sb);
  EXPECT_FALSE(sa->reply);
  EXPECT_TRUE(sa->hops.empty());
  EXPECT_TRUE(is_trace_seq(sa->seq));
  EXPECT_NE(sa->seq, sb->seq);
  EXPECT_LT(sa->seq, std::uint64_t{1} << 62);
  // Another trace's numbers differ; a channel's probe numbers (1, 2, ...) are not trace numbers.
  EXPECT_NE(TraceProbe(43).next(0), a);
  EXPECT_FALSE(is_trace_seq(1));
  EXPECT_EQ(t.sent(), 2u);
  EXPECT_FALSE(t.all_answered());
}

TEST(Trace, MatchesEachAnswerOnce) {
  TraceProbe t(1);
  Bytes p = t.next(10 * kMillisecond);
  StatsBody not_reply = *decode_stats(p);
  EXPECT_FALSE(t.on_answer(not_reply, {}, 11 * kMillisecond));
  StatsBody other = answer_to(TraceProbe(2).next(0), {});
  EXPECT_FALSE(t.on_answer(other, {}, 11 * kMillisecond));
  StatsBody ans = answer_to(p, {});
  EXPECT_TRUE(t.on_answer(ans, {}, 13 * kMillisecond));
  EXPECT_FALSE(t.on_answer(ans, {}, 14 * kMillisecond));  // duplicate
  ASSERT_EQ(t.answered(), 1u);
  EXPECT_EQ(t.samples()[0].round_trip, 3 * kMillisecond);
  EXPECT_TRUE(t.all_answered());
}

TEST(Trace, SummarySumsLinkRttsPerHop) {
  // us -> R1 -> R2 -> peer: our link 100/300 us, R1's 200/200, R2's 1000/3000; R2 queues.
  TraceProbe t(7);
  struct Case {
    Duration first, r1, r2;
    std::uint32_t queue2, drops2;
  };
  std::vector<Case> cases = {
      {100, 200, 1000, 0, 1}, {300, 200, 3000, 4, 2}, {200, 200, 2000, 1, 3}};
  for (const auto& c : cases) {
    Bytes p = t.next(0);
    FirstLink first{c.first * kMicrosecond, 0, 0, 1400};
    std::vector<HopStats> relays = {
        {1, static_cast<std::uint32_t>(c.r1), 0, 0, 1390},
        {2, static_cast<std::uint32_t>(c.r2), c.queue2, c.drops2, 1380}};
    ASSERT_TRUE(t.on_answer(answer_to(p, relays), first, 5 * kMillisecond));
  }
  (void)t.next(0);  // one unanswered
  TraceSummary s = t.summary();
  EXPECT_EQ(s.sent, 4u);
  EXPECT_EQ(s.answered, 3u);
  ASSERT_TRUE(s.round_trip);
  EXPECT_EQ(s.round_trip->min, 5 * kMillisecond);
  ASSERT_EQ(s.hops.size(), 3u);
  EXPECT_EQ(s.hops[0].hop, 1u);
  EXPECT_EQ(s.hops[0].samples, 3u);
  EXPECT_EQ(s.hops[0].rtt.min, 100 * kMicrosecond);
  EXPECT_EQ(s.hops[0].rtt.median, 200 * kMicrosecond);
  EXPECT_EQ(s.hops[0].room_min, 1400u);
  // Hop 2: first + R1 = 300, 500, 400.
  EXPECT_EQ(s.hops[1].rtt.min, 300 * kMicrosecond);
  EXPECT_EQ(s.hops[1].rtt.median, 400 * kMicrosecond);
  EXPECT_EQ(s.hops[1].step.min, 200 * kMicrosecond);
  EXPECT_EQ(s.hops[1].room_min, 1390u);
  // Hop 3 (the peer): 1300, 3500, 2400.
  EXPECT_EQ(s.hops[2].rtt.min, 1300 * kMicrosecond);
  EXPECT_EQ(s.hops[2].rtt.median, 2400 * kMicrosecond);
  EXPECT_EQ(s.hops[2].step.median, 2000 * kMicrosecond);
  EXPECT_EQ(s.hops[2].queue_max, 4u);
  EXPECT_EQ(s.hops[2].drops, 3u);  // the last answer's running total
}

TEST(Trace, SummaryOfNothing) {
  TraceSummary s = summarize({}, 3);
  EXPECT_EQ(s.sent, 3u);
  EXPECT_EQ(s.answered, 0u);
  EXPECT_FALSE(s.round_trip);
  EXPECT_TRUE(s.hops.empty());
}

TEST(Trace, ShortAnswersCountOnlyForTheLinksTheyDescribe) {
  std::vector<TraceSample> samples(2);
  samples[0].first.rtt = 100;
  samples[0].relays = {{1, 1, 0, 0, 0}};
  samples[1].first.rtt = 300;  // no relay record (say a relay could not parse the probe)
  TraceSummary s = summarize(samples, 2);
  ASSERT_EQ(s.hops.size(), 2u);
  EXPECT_EQ(s.hops[0].samples, 2u);
  EXPECT_EQ(s.hops[1].samples, 1u);
  EXPECT_EQ(s.hops[1].rtt.min, 100 + kMicrosecond);
}

// A relay's DataPlane appends its record to the trace probe and leaves the answer alone.
class RelayIo : public CircuitIo {
 public:
  SendStatus send_datagram(SessionId s, ByteView p) override {
    sent[s].emplace_back(p.begin(), p.end());
    return SendStatus::kSent;
  }
  std::size_t datagram_room(SessionId) override { return 1404; }
  Duration session_rtt(SessionId s) override { return s == 2 ? 750 * kMicrosecond : 0; }
  std::optional<Hop> forward(SessionId s, Label l) override {
    if (s == 1 && l == 5) return Hop{2, 9};
    if (s == 2 && l == 9) return Hop{1, 5};
    return std::nullopt;
  }
  void touch(SessionId, Label, Timestamp) override {}
  std::map<SessionId, std::vector<Bytes>> sent;
};

TEST(Trace, RelayAddsItsRecordToTheProbe) {
  RelayIo io;
  DataPlane relay(io);
  TraceProbe t(3);
  relay.on_datagram(1, *encode(5, PacketType::kStats, t.next(0)), 0);
  ASSERT_EQ(io.sent[2].size(), 1u);
  auto out = decode(io.sent[2][0]);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->label, 9);
  auto body = decode_stats(out->body);
  ASSERT_TRUE(body);
  ASSERT_EQ(body->hops.size(), 1u);
  EXPECT_EQ(body->hops[0].hop, 1);
  EXPECT_EQ(body->hops[0].rtt_us, 750u);
  EXPECT_EQ(body->hops[0].room, 1404u - 2u);
  // The far end answers; the relay passes the answer back untouched.
  body->reply = true;
  relay.on_datagram(2, *encode(9, PacketType::kStats, encode_stats(*body)), 0);
  ASSERT_EQ(io.sent[1].size(), 1u);
  auto back = decode_stats(decode(io.sent[1][0])->body);
  ASSERT_TRUE(back);
  EXPECT_TRUE(t.on_answer(*back, FirstLink{250 * kMicrosecond, 0, 0, 1400}, kMillisecond));
  TraceSummary s = t.summary();
  ASSERT_EQ(s.hops.size(), 2u);
  EXPECT_EQ(s.hops[1].rtt.min, 1000 * kMicrosecond);
}

}  // namespace
}  // namespace qc::circuit
