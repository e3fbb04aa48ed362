#include "discovery/discovery.h"

#include <chrono>

namespace qc::discovery {

Result<std::unique_ptr<Discovery>> Discovery::create(asio::io_context& io, const Options& options,
                                                     const LocalNode& self, Handler handler) {
  auto transport = UdpBeaconTransport::create(io, options);
  if (!transport) return Err(transport.error());
  return std::unique_ptr<Discovery>(new Discovery(io, options, self,
                                                  std::make_unique<SystemInterfaceSource>(),
                                                  std::move(*transport), std::move(handler)));
}

Discovery::Discovery(asio::io_context& io, const Options& options, const LocalNode& self,
                     std::unique_ptr<InterfaceSource> source,
                     std::unique_ptr<BeaconTransport> transport, Handler handler)
    : own_source_(std::move(source)),
      own_transport_(std::move(transport)),
      clock_(SystemClock::instance()),
      core_(options, self, *own_source_, *own_transport_, std::move(handler)),
      timer_(io) {}

Discovery::Discovery(asio::io_context& io, const Options& options, const LocalNode& self,
                     InterfaceSource& source, BeaconTransport& transport, const Clock& clock,
                     Handler handler)
    : clock_(clock), core_(options, self, source, transport, std::move(handler)), timer_(io) {}

Discovery::~Discovery() {
  timer_.cancel();
}

void Discovery::start() {
  core_.start(clock_.now());
  arm();
}

void Discovery::stop() {
  core_.stop();
  timer_.cancel();
}

void Discovery::arm() {
  const Timestamp next = core_.next_timeout();
  if (next == kNever) {
    timer_.cancel();
    return;
  }
  const Timestamp now = clock_.now();
  timer_.expires_after(std::chrono::nanoseconds(next > now ? next - now : 0));
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired()) return;
    core_.handle_timeout(clock_.now());
    arm();
  });
}

}  // namespace qc::discovery
