#include "discovery/discovery_core.h"

#include <algorithm>
#include <set>

#include "common/log.h"

namespace qc::discovery {

namespace {
std::uint64_t seed_of(std::uint64_t s) {
  if (s != 0) return s;
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

DiscoveryCore::DiscoveryCore(const Options& options, const LocalNode& self, InterfaceSource& source,
                             BeaconTransport& transport, Handler handler)
    : options_(options),
      self_(self),
      source_(source),
      transport_(transport),
      handler_(std::move(handler)),
      rng_(seed_of(options.seed)) {
  options_.max_interval = std::max(options_.max_interval, options_.min_interval);
  options_.cluster_prefix_len =
      std::clamp(options_.cluster_prefix_len, kMinClusterPrefix, kMaxClusterPrefix);
  set_quic_port(self.quic_port);
  transport_.set_receiver([this](ByteView data, const asio::ip::udp::endpoint& from,
                                 std::uint32_t ifindex) { handle_datagram(data, from, ifindex); });
}

DiscoveryCore::~DiscoveryCore() {
  stop();
  transport_.set_receiver(nullptr);
}

void DiscoveryCore::set_quic_port(std::uint16_t port) {
  self_.quic_port = port;
  auto wire =
      encode_beacon(make_beacon(self_.cluster, self_.partial, port, options_.cluster_prefix_len));
  beacon_ = wire ? std::move(*wire) : Bytes{};  // port 0: nothing to announce yet
}

Duration DiscoveryCore::jitter(Duration lo, Duration hi) {
  if (hi <= lo) return lo;
  return std::uniform_int_distribution<Duration>(lo, hi)(rng_);
}

void DiscoveryCore::start(Timestamp now) {
  if (started_) return;
  started_ = true;
  rescan(now);
}

void DiscoveryCore::stop() {
  for (auto& [index, a] : active_) transport_.close(a.itf);
  active_.clear();
  started_ = false;
  next_rescan_ = kNever;
}

void DiscoveryCore::rescan(Timestamp now) {
  next_rescan_ = now + options_.rescan_interval;
  auto listed = source_.list();
  if (!listed) {
    ++counters_.list_errors;
    log::get("discovery")->warn("listing interfaces: {}", listed.error().to_string());
    return;
  }
  std::set<std::uint32_t> seen;
  for (const auto& itf : *listed) {
    if (!options_.filter.accepts(itf)) continue;
    seen.insert(itf.index);
    auto it = active_.find(itf.index);
    if (it != active_.end() && it->second.itf == itf) continue;
    const bool known = it != active_.end();
    if (auto r = transport_.open(itf); !r) {
      ++counters_.open_errors;
      log::get("discovery")
          ->warn("interface {}: {} (retrying in {} s)", itf.name, r.error().to_string(),
                 options_.rescan_interval / kSecond);
      if (known) active_.erase(it);
      continue;
    }
    if (known) {
      it->second.itf = itf;  // addresses changed: keep the schedule
    } else {
      log::get("discovery")->info("beaconing on {} (interface id {:08x})", itf.name, itf.id);
      active_[itf.index] = {itf, now + jitter(0, options_.first_beacon_max_delay)};
    }
  }
  for (auto it = active_.begin(); it != active_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    log::get("discovery")->info("interface {} gone", it->second.itf.name);
    transport_.close(it->second.itf);
    it = active_.erase(it);
  }
}

void DiscoveryCore::handle_timeout(Timestamp now) {
  if (!started_) return;
  if (now >= next_rescan_) rescan(now);
  for (auto& [index, a] : active_) {
    if (now < a.next_send) continue;
    const Duration s = options_.startup_interval;
    const Duration soon = jitter(s - s / 2, s + s / 2);
    if (beacon_.empty()) {  // no QUIC port to announce yet: look again soon
      a.next_send = now + soon;
      continue;
    }
    if (auto r = transport_.send(a.itf, beacon_); r) {
      ++counters_.sent;
      ++a.sent;
      a.next_send = now + (a.sent < options_.startup_beacons
                               ? soon
                               : jitter(options_.min_interval, options_.max_interval));
    } else {
      ++counters_.send_errors;
      a.next_send = now + soon;  // retried soon, not a whole interval later
      log::get("discovery")->debug("beacon on {}: {}", a.itf.name, r.error().to_string());
    }
  }
}

Timestamp DiscoveryCore::next_timeout() const {
  if (!started_) return kNever;
  Timestamp t = next_rescan_;
  for (const auto& [index, a] : active_) t = std::min(t, a.next_send);
  return t;
}

void DiscoveryCore::handle_datagram(ByteView data, const asio::ip::udp::endpoint& from,
                                    std::uint32_t ifindex) {
  ++counters_.received;
  auto it = active_.find(ifindex);
  if (it == active_.end()) {
    ++counters_.unknown_interface;
    return;
  }
  auto b = decode_beacon(data);
  if (!b) {
    ++counters_.malformed;
    log::get("discovery")
        ->debug("from {} on {}: {}", from.address().to_string(), it->second.itf.name,
                b.error().to_string());
    return;
  }
  switch (classify(*b, self_.cluster, self_.partial)) {
    case BeaconClass::kOtherCluster:
      ++counters_.other_cluster;
      return;
    case BeaconClass::kSelf:
      ++counters_.own;
      return;
    case BeaconClass::kOurs:
      break;
  }
  ++counters_.heard;
  BeaconHeard h;
  h.partial = b->partial;
  asio::ip::address addr = from.address();
  if (addr.is_v6()) {
    auto v6 = addr.to_v6();
    if (v6.is_link_local()) v6.scope_id(ifindex);
    addr = v6;
  }
  h.quic_endpoint = asio::ip::udp::endpoint(addr, b->quic_port);
  h.interface_id = it->second.itf.id;
  h.ifindex = ifindex;
  h.interface_name = it->second.itf.name;
  if (handler_) handler_(h);
}

std::vector<Interface> DiscoveryCore::interfaces() const {
  std::vector<Interface> out;
  for (const auto& [index, a] : active_) out.push_back(a.itf);
  return out;
}

Timestamp DiscoveryCore::next_send(std::uint32_t ifindex) const {
  auto it = active_.find(ifindex);
  return it == active_.end() ? kNever : it->second.next_send;
}

}  // namespace qc::discovery
