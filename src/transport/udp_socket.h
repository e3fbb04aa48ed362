// UdpSocket: one non-blocking UDP socket with batched IO (recvmmsg + UDP_GRO on receive, UDP GSO
// on send) and large kernel buffers. GsoSender: a PacketSink that batches packets for the same
// destination into one sendmsg with UDP_SEGMENT.
//
// Threading rule: both belong to the event-loop thread that owns the Endpoint.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "transport/address.h"
#include "transport/connection_observer.h"

namespace qc::transport {

struct UdpSocketOptions {
  std::size_t buffer_bytes = 4u << 20;  // SO_RCVBUF / SO_SNDBUF (SO_*BUFFORCE when allowed)
  bool gso = true;
  bool gro = true;
  // Bind to this network interface (SO_BINDTODEVICE; needs CAP_NET_RAW): packets from other
  // interfaces never reach the socket, and sends leave through it. "" = any interface.
  std::string device;
  // SO_REUSEADDR, so sockets bound to different devices (and one to none) can share a port; the
  // kernel delivers a packet to the socket bound to its interface first.
  bool reuse_address = false;
};

struct UdpCounters {
  std::uint64_t datagrams_received = 0;
  std::uint64_t recv_calls = 0;
  std::uint64_t datagrams_sent = 0;
  std::uint64_t send_calls = 0;
  std::uint64_t send_errors = 0;  // datagrams dropped by a failed sendmsg (EAGAIN...)
};

class UdpSocket {
 public:
  // Called once per received UDP datagram (GRO batches are split here).
  using Receiver = std::function<void(const Address& from, ByteView data, std::uint8_t ecn)>;

  UdpSocket();
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  // Binds to `local` (port 0 picks one). "::" accepts IPv4 too (dual stack).
  Result<void> open(const Address& local, const UdpSocketOptions& opts);
  void close();
  int fd() const { return fd_; }
  const Address& local_address() const { return local_; }

  // Reads until the socket is empty or at least `max_datagrams` were read (whole recvmmsg
  // batches: pass 1 for exactly one batch). Returns how many.
  std::size_t receive(const Receiver& on_datagram, std::size_t max_datagrams);
  // Sends `data` to `to` as `segment`-byte datagrams (the last may be shorter) in one call.
  // Returns false when the kernel refused it (the datagrams are dropped; QUIC recovers).
  bool send(const Address& to, ByteView data, std::size_t segment, std::uint8_t ecn);

  bool gso_enabled() const { return gso_; }
  const UdpCounters& counters() const { return counters_; }

 private:
  int fd_ = -1;
  Address local_;
  bool gso_ = false;
  bool gro_ = false;
  std::uint8_t last_ecn_ = 0;
  struct RecvBuffers;
  std::unique_ptr<RecvBuffers> rx_;
  UdpCounters counters_;
};

// Collects packets written by connections and sends runs of equal-size packets to the same
// destination as one GSO sendmsg (at most 64 segments and 65000 bytes). Call flush() after each
// burst.
class GsoSender final : public PacketSink {
 public:
  explicit GsoSender(UdpSocket& socket);
  std::span<std::uint8_t> buffer(std::size_t max_len) override;
  void commit(const Path& path, std::size_t len, std::uint8_t ecn) override;
  void flush();

 private:
  static constexpr std::size_t kMaxBatchBytes = 65000;
  static constexpr std::size_t kMaxSegments = 64;
  UdpSocket& socket_;
  Bytes buf_;
  std::size_t len_ = 0;      // bytes of the open batch
  std::size_t segment_ = 0;  // its segment size
  std::size_t count_ = 0;    // its segments
  bool sealed_ = false;      // its last segment was short: nothing may follow
  Address to_;
  std::uint8_t ecn_ = 0;
};

}  // namespace qc::transport
