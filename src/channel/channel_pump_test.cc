// ChannelPump: when it flushes (seen through its after-flush hook). The timer is exercised by the
// loopback test, where channels have deadlines.
#include "channel/channel_pump.h"

#include <gtest/gtest.h>

namespace qc::channel {
namespace {

struct NoSessions final : circuit::CircuitIo {
  circuit::SendStatus send_datagram(circuit::SessionId, ByteView) override {
    return circuit::SendStatus::kClosed;
  }
  std::size_t datagram_room(circuit::SessionId) override { return 0; }
  Duration session_rtt(circuit::SessionId) override { return 0; }
  std::optional<circuit::Hop> forward(circuit::SessionId, circuit::Label) override {
    return std::nullopt;
  }
  void touch(circuit::SessionId, circuit::Label, Timestamp) override {}
};

struct Fixture {
  asio::io_context io;
  NoSessions sessions;
  circuit::DataPlane dp{sessions};
  ChannelObserver observer;
  ChannelManager channels{ChannelConfig{}, dp, observer};
  ManualClock clock;
  int flushes = 0;
  std::unique_ptr<ChannelPump> pump = make_pump();

  std::unique_ptr<ChannelPump> make_pump() {
    auto p = std::make_unique<ChannelPump>(io, channels, clock);
    p->set_after_flush([this] { ++flushes; });
    return p;
  }
};

TEST(ChannelPumpTest, ReceiveBatchFlushesOnlyWhenDatagramsCame) {
  Fixture f;
  f.pump->on_receive_batch();
  EXPECT_EQ(f.flushes, 0);
  f.pump->on_session_datagram();
  f.pump->on_session_datagram();
  f.pump->on_receive_batch();
  EXPECT_EQ(f.flushes, 1);
  f.pump->on_receive_batch();  // nothing came since
  EXPECT_EQ(f.flushes, 1);
}

TEST(ChannelPumpTest, ScheduledFlushesCoalesce) {
  Fixture f;
  f.pump->schedule_flush();
  f.pump->schedule_flush();
  f.pump->schedule_flush();
  EXPECT_EQ(f.flushes, 0);  // posted, not run inline
  f.io.poll();
  EXPECT_EQ(f.flushes, 1);
  f.pump->schedule_flush();
  f.io.restart();
  f.io.poll();
  EXPECT_EQ(f.flushes, 2);
}

TEST(ChannelPumpTest, NothingRunsAfterStopOrDestruction) {
  Fixture f;
  f.pump->schedule_flush();
  f.pump->stop();
  f.pump->flush();
  f.pump->on_session_datagram();
  f.pump->on_receive_batch();
  f.io.poll();
  EXPECT_EQ(f.flushes, 0);

  f.pump = f.make_pump();
  f.pump->schedule_flush();
  f.pump.reset();
  f.io.restart();
  f.io.poll();  // the posted flush finds the pump gone
  EXPECT_EQ(f.flushes, 0);
}

}  // namespace
}  // namespace qc::channel
