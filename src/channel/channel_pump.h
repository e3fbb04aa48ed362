// ChannelPump: runs a ChannelManager on an asio event loop, as the node embeds it (the daemon's
// Node and testing::LoopbackNode). The manager is sans-IO: it writes when told to flush(now) and
// says when it next needs time (next_deadline()). The pump decides when:
//
// - once per receive batch of the sessions, before they write, if circuit packets arrived in it
//   (on_session_datagram, then on_receive_batch): the channels answer at once, so their inner
//   ACKs and data ride the same outer packets and sendmsg calls as the sessions' own ACKs for the
//   batch (link::SessionCallbacks::on_receive_batch) instead of waiting for a later turn;
// - after front-end calls (stream writes, datagrams, opens): schedule_flush() posts one flush, so
//   a burst of calls costs one;
// - when the channels' deadline passes: one transport::GridTimer, armed at next_deadline() after
//   every flush, calls ChannelManager::on_timer.
//
// Threading rule: single-threaded, on the io_context's thread. Uses the ChannelManager, which must
// outlive it. After stop() or destruction nothing runs (a posted flush finds it stopped).
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>

#include "channel/channel_manager.h"
#include "common/clock.h"
#include "transport/grid_timer.h"

namespace qc::channel {

class ChannelPump {
 public:
  ChannelPump(asio::io_context& io, ChannelManager& channels, const Clock& clock);
  ~ChannelPump();
  ChannelPump(const ChannelPump&) = delete;
  ChannelPump& operator=(const ChannelPump&) = delete;

  // Runs after every flush and timer, once the channels wrote (their queues drained); empty for
  // none. The daemon's VPN mode reads more from its TUN device there.
  void set_after_flush(std::function<void()> after_flush) { after_flush_ = std::move(after_flush); }

  // A session delivered a DATAGRAM (a circuit packet) in the current receive batch.
  void on_session_datagram() { received_ = true; }
  // The receive batch ended, before the sessions write: flushes if a DATAGRAM came in it.
  void on_receive_batch();
  // After front-end calls: flushes on a later turn of the loop, once however often called.
  void schedule_flush();
  // Writes the channels' pending packets now and re-arms the timer.
  void flush();
  // Arms the timer at the channels' next deadline (after calls that moved it without a flush,
  // such as on_circuit_up); flush() does this itself.
  void arm();
  // Nothing flushes or fires from now on (the node is stopping).
  void stop();

 private:
  void on_timer();
  // After the channels wrote (a flush or their timer): the after-flush hook, then arm().
  void after_write();
  bool stopped() const { return !*alive_; }

  asio::io_context& io_;
  ChannelManager& channels_;
  const Clock& clock_;
  std::function<void()> after_flush_;
  transport::GridTimer timer_;
  bool flush_posted_ = false;
  bool received_ = false;  // DATAGRAMs arrived since the last receive-batch flush
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once stopped
};

}  // namespace qc::channel
