#include "channel/channel_pump.h"

namespace qc::channel {

ChannelPump::ChannelPump(asio::io_context& io, ChannelManager& channels, const Clock& clock)
    : io_(io), channels_(channels), clock_(clock), timer_(io, [this] { on_timer(); }) {}

ChannelPump::~ChannelPump() {
  stop();
}

void ChannelPump::on_receive_batch() {
  if (!received_) return;
  received_ = false;
  flush();
}

void ChannelPump::schedule_flush() {
  if (flush_posted_ || stopped()) return;
  flush_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (!*alive) return;
    flush_posted_ = false;
    flush();
  });
}

void ChannelPump::flush() {
  if (stopped()) return;
  channels_.flush(clock_.now());
  after_write();
}

// On the grid of transport::GridTimer: see there for why.
void ChannelPump::arm() {
  if (stopped()) return;
  timer_.arm(channels_.next_deadline());
}

void ChannelPump::on_timer() {
  if (stopped()) return;
  channels_.on_timer(clock_.now());
  after_write();
}

void ChannelPump::after_write() {
  if (after_flush_) after_flush_();
  arm();
}

void ChannelPump::stop() {
  *alive_ = false;
  timer_.cancel();
}

}  // namespace qc::channel
