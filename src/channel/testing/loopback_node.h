// LoopbackNode: a node made of a real link::SessionManager (QUIC over UDP on 127.0.0.1), a
// circuit::DataPlane over it (CircuitIo implemented on the sessions, routing replaced by a static
// label table) and optionally a ChannelManager, all on one asio::io_context. It is also the
// reference for how the daemon's Node wires these layers: datagram callbacks feed the data plane,
// and a ChannelPump flushes the channels once per receive batch (before the sessions write) and
// after front-end calls, with a timer armed at ChannelManager::next_deadline().
//
// Threading rule: single-threaded, on the io_context's thread. For tests and benchmarks.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <map>
#include <memory>

#include "channel/channel_manager.h"
#include "channel/channel_pump.h"
#include "channel/send_status.h"
#include "circuit/data_plane.h"
#include "link/session_manager.h"
#include "transport/test_pki.h"

namespace qc::channel::testing {

class LoopbackNode final : public circuit::CircuitIo {
 public:
  LoopbackNode(asio::io_context& io, const transport::testing::TestNode& t,
               ChannelObserver* observer, const ChannelConfig& base = {},
               const std::function<void(link::SessionManagerOptions&)>& tune = nullptr)
      : id(*identity::Identity::from_pem(t.creds.ca_pem, t.creds.chain_pem, t.creds.key_pem)),
        dp(*this) {
    link::SessionManagerOptions o;
    o.listen = *transport::Address::parse("127.0.0.1", 0);
    o.interface_id = 7;
    if (tune) tune(o);
    link::SessionCallbacks cb;
    cb.on_datagram = [this](link::Session& s, ByteView d) {
      dp.on_datagram(s.id(), d, now());
      if (pump_) pump_->on_session_datagram();
    };
    cb.on_receive_batch = [this] {
      if (pump_) pump_->on_receive_batch();
    };
    cb.on_datagrams_writable = [this](link::Session& s) {
      dp.on_datagrams_writable(s.id(), now());
      schedule_flush();
    };
    cb.on_down = [this](link::Session& s, const transport::CloseInfo&) {
      dp.on_session_closed(s.id());
    };
    cb.on_stream_data = [this](link::Session& s, std::int64_t sid, ByteView d, bool fin) {
      if (on_session_stream) on_session_stream(s, sid, d, fin);
    };
    cb.on_stream_writable = [this](link::Session& s, std::int64_t sid) {
      if (on_session_writable) on_session_writable(s, sid);
    };
    mgr = std::make_unique<link::SessionManager>(io, id, o, cb);
    auto r = mgr->start();
    if (!r) std::abort();
    if (observer != nullptr) {
      ChannelConfig c = base;
      c.self = id.node_id();
      c.tls = *transport::TlsContext::create(t.creds);
      channels = std::make_unique<ChannelManager>(c, dp, *observer);
      dp.set_receiver(channels.get());
      pump_ = std::make_unique<ChannelPump>(io, *channels, SystemClock::instance());
    }
  }
  ~LoopbackNode() override {
    if (pump_) pump_->stop();
    mgr->shutdown();
  }

  static Timestamp now() { return SystemClock::instance().now(); }

  // circuit::CircuitIo over the sessions.
  circuit::SendStatus send_datagram(circuit::SessionId s, ByteView p) override {
    link::Session* ss = mgr->session(s);
    if (ss == nullptr || !ss->is_up()) return circuit::SendStatus::kClosed;
    return send_status_of(ss->send_datagram(p));
  }
  std::size_t datagram_room(circuit::SessionId s) override {
    link::Session* ss = mgr->session(s);
    return ss == nullptr ? 0 : ss->datagram_room();
  }
  Duration session_rtt(circuit::SessionId s) override {
    link::Session* ss = mgr->session(s);
    return ss == nullptr ? 0 : ss->rtt();
  }
  std::optional<circuit::Hop> forward(circuit::SessionId s, circuit::Label l) override {
    auto it = routes.find({s, l});
    if (it == routes.end()) return std::nullopt;
    return it->second;
  }
  void touch(circuit::SessionId, circuit::Label, Timestamp) override {}

  // ChannelPump::schedule_flush and arm; nothing on a node without channels.
  void schedule_flush() {
    if (pump_) pump_->schedule_flush();
  }
  void arm() {
    if (pump_) pump_->arm();
  }

  identity::Identity id;
  std::unique_ptr<link::SessionManager> mgr;
  circuit::DataPlane dp;
  std::unique_ptr<ChannelManager> channels;
  std::map<std::pair<circuit::SessionId, circuit::Label>, circuit::Hop> routes;
  std::function<void(link::Session&, std::int64_t, ByteView, bool)> on_session_stream;
  std::function<void(link::Session&, std::int64_t)> on_session_writable;

 private:
  std::unique_ptr<ChannelPump> pump_;  // with the channels; declared after them
};

}  // namespace qc::channel::testing
