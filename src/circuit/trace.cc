#include "circuit/trace.h"

#include <algorithm>

namespace qc::circuit {

std::optional<MinMedian> min_median(std::vector<Duration> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  return MinMedian{values.front(), values[(values.size() - 1) / 2]};
}

TraceSummary summarize(const std::vector<TraceSample>& samples, std::size_t sent) {
  TraceSummary out;
  out.sent = sent;
  out.answered = samples.size();
  std::vector<Duration> trips;
  std::size_t links = 0;
  for (const auto& s : samples) {
    trips.push_back(s.round_trip);
    links = std::max(links, s.relays.size() + 1);
  }
  out.round_trip = min_median(std::move(trips));
  for (std::size_t k = 0; k < links; ++k) {
    TraceHop row;
    row.hop = k + 1;
    std::vector<Duration> cumulative, step;
    bool first_row = true;
    for (const auto& s : samples) {
      if (s.relays.size() < k) continue;  // this answer did not describe link k + 1
      Duration sum = s.first.rtt;
      for (std::size_t i = 0; i < k; ++i) sum += Duration{s.relays[i].rtt_us} * kMicrosecond;
      Duration own = k == 0 ? s.first.rtt : Duration{s.relays[k - 1].rtt_us} * kMicrosecond;
      std::uint32_t queue = k == 0 ? s.first.queue : s.relays[k - 1].queue;
      std::uint32_t room = k == 0 ? s.first.room : s.relays[k - 1].room;
      row.drops = k == 0 ? s.first.drops : s.relays[k - 1].drops;
      row.queue_max = first_row ? queue : std::max(row.queue_max, queue);
      row.room_min = first_row ? room : std::min(row.room_min, room);
      first_row = false;
      cumulative.push_back(sum);
      step.push_back(own);
    }
    row.samples = cumulative.size();
    row.rtt = min_median(std::move(cumulative)).value_or(MinMedian{});
    row.step = min_median(std::move(step)).value_or(MinMedian{});
    out.hops.push_back(row);
  }
  return out;
}

Bytes TraceProbe::next(Timestamp now) {
  StatsBody body;
  body.seq = kTraceSeqBit | (id_ << 16) | (sent_ & 0xffff);
  ++sent_;
  outstanding_.push_back({body.seq, now});
  return encode_stats(body);
}

bool TraceProbe::on_answer(const StatsBody& answer, const FirstLink& first, Timestamp now) {
  if (!answer.reply) return false;
  auto it = std::find_if(outstanding_.begin(), outstanding_.end(),
                         [&](const Outstanding& o) { return o.seq == answer.seq; });
  if (it == outstanding_.end()) return false;
  TraceSample s;
  s.round_trip = now > it->sent_at ? now - it->sent_at : 0;
  s.first = first;
  s.relays = answer.hops;
  samples_.push_back(std::move(s));
  outstanding_.erase(it);
  return true;
}

}  // namespace qc::circuit
