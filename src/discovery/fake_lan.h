// FakeLan: the in-memory twin of UDP beacon transport. Nodes get a FakeLan::Port each (a
// BeaconTransport); attach() puts one of a port's interfaces on a named segment. A send on an
// interface is queued for every port attached to the same segment (the sender too, as broadcast
// loops back), and deliver() hands the queue to the receivers. Nothing is delivered re-entrantly.
//
// Threading: one thread (tests).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "discovery/beacon_transport.h"

namespace qc::discovery {

class FakeLan {
 public:
  class Port final : public BeaconTransport {
   public:
    explicit Port(FakeLan& lan) : lan_(lan) {}
    void set_receiver(Receiver r) override { receiver_ = std::move(r); }
    Result<void> open(const Interface& itf) override;
    void close(const Interface& itf) override { open_.erase(itf.index); }
    Result<void> send(const Interface& itf, ByteView beacon) override;
    // Hands `data` to the receiver as if it arrived on `ifindex` (dropped when not open).
    void inject(ByteView data, const asio::ip::udp::endpoint& from, std::uint32_t ifindex);

    bool is_open(std::uint32_t ifindex) const { return open_.count(ifindex) != 0; }
    std::size_t opens = 0;               // successful open() calls
    std::size_t sends = 0;               // send() calls that went out
    std::vector<std::string> fail_open;  // interface names whose open() fails
    std::vector<std::string> fail_send;  // interface names whose send() fails

   private:
    friend class FakeLan;
    FakeLan& lan_;
    Receiver receiver_;
    std::map<std::uint32_t, Interface> open_;
  };

  std::unique_ptr<Port> port() { return std::make_unique<Port>(*this); }
  // Puts interface `ifindex` of `port` on `segment`; its sends come from `source`.
  void attach(const std::string& segment, Port& port, std::uint32_t ifindex,
              const asio::ip::address& source);
  // Delivers every queued datagram; returns how many were handed to a receiver.
  std::size_t deliver();

 private:
  struct Member {
    std::string segment;
    Port* port;
    std::uint32_t ifindex;
    asio::ip::udp::endpoint source;
  };
  struct Pending {
    Port* to;
    std::uint32_t ifindex;
    asio::ip::udp::endpoint from;
    Bytes data;
  };
  std::vector<Member> members_;
  std::deque<Pending> queue_;
};

}  // namespace qc::discovery
