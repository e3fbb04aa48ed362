// TwinNetwork: nodes with a DataPlane and (optionally) a ChannelManager, joined by in-memory
// links with delay, rate, a bounded queue and seeded random loss, in virtual time. The routing
// twin is a static table: tests install each circuit's labels by hand. For tests and benchmarks.
//
// Threading rule: single-threaded; run() drives everything.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <vector>

#include "channel/channel_manager.h"
#include "circuit/data_plane.h"

namespace qc::channel::testing {

using circuit::Hop;
using circuit::Label;
using circuit::SendStatus;
using circuit::SessionId;

class TwinNetwork;

struct TwinLink {
  int a = 0, b = 0;  // node indexes; the session id is the link id at both ends
  Duration delay = 50 * kMicrosecond;
  double bytes_per_ns = 1.0;  // 1 GB/s
  std::size_t queue = 256;    // datagrams waiting to leave one side
  std::size_t room = 1404;    // DATAGRAM room (outer CID 18, pn 2)
  double loss = 0;            // random drop probability per datagram
  bool up = true;
  bool blackhole = false;  // silently drop everything (a cut the sender does not see)
  struct Dir {
    std::deque<Timestamp> departures;
    Timestamp busy_until = 0;
    bool want_writable = false;
  } dir[2];
};

class TwinNode final : public circuit::CircuitIo {
 public:
  TwinNode(TwinNetwork& net, int index, circuit::DataPlaneConfig dpc)
      : net_(net), index_(index), dp(*this, dpc) {}
  SendStatus send_datagram(SessionId session, ByteView packet) override;
  std::size_t datagram_room(SessionId session) override;
  Duration session_rtt(SessionId session) override;
  std::optional<Hop> forward(SessionId session, Label label) override {
    auto it = routes.find({session, label});
    if (it == routes.end()) return std::nullopt;
    return it->second;
  }
  void touch(SessionId, Label, Timestamp) override { ++touches; }

  TwinNetwork& net_;
  int index_;
  circuit::DataPlane dp;
  std::unique_ptr<ChannelManager> mgr;
  std::map<std::pair<SessionId, Label>, Hop> routes;
  std::uint64_t touches = 0;
  std::function<void(SessionId, ByteView)> sniff;  // sees every datagram this node receives
};

class TwinNetwork {
 public:
  explicit TwinNetwork(std::uint64_t seed = 1) : rng_(seed) {}

  int add_node(circuit::DataPlaneConfig dpc = {}) {
    nodes.push_back(std::make_unique<TwinNode>(*this, static_cast<int>(nodes.size()), dpc));
    return static_cast<int>(nodes.size()) - 1;
  }
  SessionId add_link(int a, int b, TwinLink l = {}) {
    l.a = a;
    l.b = b;
    links.push_back(l);
    return links.size();  // session ids start at 1
  }
  TwinLink& link(SessionId s) { return links[s - 1]; }
  // Installs a circuit: path[i] are node indexes, sessions[i] the link between path[i] and
  // path[i+1], labels[i] its label on that link. Returns nothing; endpoints get on_circuit_up.
  void add_circuit(const std::vector<int>& path, const std::vector<SessionId>& sessions,
                   const std::vector<Label>& labels, const NodeId& id_front,
                   const NodeId& id_back) {
    for (std::size_t i = 1; i + 1 < path.size(); ++i) {
      auto& r = nodes[static_cast<std::size_t>(path[i])]->routes;
      r[{sessions[i - 1], labels[i - 1]}] = Hop{sessions[i], labels[i]};
      r[{sessions[i], labels[i]}] = Hop{sessions[i - 1], labels[i - 1]};
    }
    TwinNode& f = *nodes[static_cast<std::size_t>(path.front())];
    TwinNode& b = *nodes[static_cast<std::size_t>(path.back())];
    if (f.mgr) f.mgr->on_circuit_up(id_back, sessions.front(), labels.front(), now);
    if (b.mgr) b.mgr->on_circuit_up(id_front, sessions.back(), labels.back(), now);
  }

  SendStatus send(int from, SessionId s, ByteView packet) {
    if (s == 0 || s > links.size()) return SendStatus::kClosed;
    TwinLink& l = link(s);
    if (!l.up || (l.a != from && l.b != from)) return SendStatus::kClosed;
    if (packet.size() > l.room) return SendStatus::kTooBig;
    auto& d = l.dir[l.a == from ? 0 : 1];
    while (!d.departures.empty() && d.departures.front() <= now) d.departures.pop_front();
    if (d.departures.size() >= l.queue) {
      d.want_writable = true;
      return SendStatus::kBlocked;
    }
    Timestamp depart = std::max(now, d.busy_until) +
                       static_cast<Duration>(static_cast<double>(packet.size()) / l.bytes_per_ns);
    d.busy_until = depart;
    d.departures.push_back(depart);
    if (l.blackhole ||
        (l.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < l.loss)) {
      ++dropped;
      return SendStatus::kSent;
    }
    events_.push(Event{depart + l.delay, seq_++, l.a == from ? l.b : l.a, s,
                       Bytes(packet.begin(), packet.end())});
    return SendStatus::kSent;
  }

  // Runs until `done` returns true or `limit` of virtual time passed.
  bool run(const std::function<bool()>& done, Duration limit) {
    Timestamp end = now + limit;
    while (now < end) {
      if (done()) return true;
      Timestamp next = end;
      if (!events_.empty()) next = std::min(next, events_.top().at);
      for (auto& n : nodes) {
        if (n->mgr) next = std::min(next, n->mgr->next_deadline());
      }
      for (auto& l : links) {
        for (auto& d : l.dir) {
          if (d.want_writable && !d.departures.empty()) next = std::min(next, d.departures.front());
        }
      }
      now = std::max(now, next);
      std::vector<bool> touched(nodes.size(), false);
      while (!events_.empty() && events_.top().at <= now) {
        Event e = events_.top();
        events_.pop();
        TwinNode& n = *nodes[static_cast<std::size_t>(e.to)];
        if (n.sniff) n.sniff(e.session, e.data);
        n.dp.on_datagram(e.session, e.data, now);
        touched[static_cast<std::size_t>(e.to)] = true;
      }
      for (std::size_t i = 0; i < links.size(); ++i) {
        TwinLink& l = links[i];
        for (int k = 0; k < 2; ++k) {
          auto& d = l.dir[k];
          while (!d.departures.empty() && d.departures.front() <= now) d.departures.pop_front();
          if (d.want_writable && d.departures.size() < l.queue / 2) {
            d.want_writable = false;
            int from = k == 0 ? l.a : l.b;
            nodes[static_cast<std::size_t>(from)]->dp.on_datagrams_writable(i + 1, now);
            touched[static_cast<std::size_t>(from)] = true;
          }
        }
      }
      for (std::size_t i = 0; i < nodes.size(); ++i) {
        auto& m = nodes[i]->mgr;
        if (!m) continue;
        if (m->next_deadline() <= now) m->on_timer(now);
        if (touched[i]) m->flush(now);
      }
    }
    return done();
  }

  Timestamp now = kSecond;
  std::vector<std::unique_ptr<TwinNode>> nodes;
  std::vector<TwinLink> links;
  std::uint64_t dropped = 0;

 private:
  struct Event {
    Timestamp at;
    std::uint64_t seq;
    int to;
    SessionId session;
    Bytes data;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::uint64_t seq_ = 0;
  std::mt19937_64 rng_;
};

inline SendStatus TwinNode::send_datagram(SessionId session, ByteView packet) {
  return net_.send(index_, session, packet);
}
inline std::size_t TwinNode::datagram_room(SessionId session) {
  if (session == 0 || session > net_.links.size()) return 0;
  const TwinLink& l = net_.link(session);
  return l.up ? l.room : 0;
}
inline Duration TwinNode::session_rtt(SessionId session) {
  if (session == 0 || session > net_.links.size()) return 0;
  return 2 * net_.link(session).delay;
}

}  // namespace qc::channel::testing
