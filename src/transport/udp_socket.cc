#include "transport/udp_socket.h"

#include <fcntl.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace qc::transport {

namespace {
constexpr std::size_t kRecvBatch = 16;
constexpr std::size_t kRecvBufferSize = 65536;

void set_buffer(int fd, int opt, int force_opt, int bytes) {
  int current = 0;
  socklen_t len = sizeof current;
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) == 0) return;
  setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
  getsockopt(fd, SOL_SOCKET, opt, &current, &len);
  // The kernel doubles the value it stores; less than asked means rmem_max/wmem_max capped it.
  if (current < bytes) {
    log::get("transport")
        ->debug("socket buffer {} capped at {} bytes (asked {})",
                opt == SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF", current, bytes);
  }
}
}  // namespace

struct UdpSocket::RecvBuffers {
  std::vector<std::uint8_t> data = std::vector<std::uint8_t>(kRecvBatch * kRecvBufferSize);
  mmsghdr msgs[kRecvBatch]{};
  iovec iovs[kRecvBatch]{};
  sockaddr_storage addrs[kRecvBatch]{};
  alignas(cmsghdr) char control[kRecvBatch][128]{};
};

UdpSocket::UdpSocket() = default;
UdpSocket::~UdpSocket() {
  close();
}

void UdpSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<void> UdpSocket::open(const Address& local, const UdpSocketOptions& opts) {
  close();
  int family = local.family();
  fd_ = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Err(Errc::kIo, std::string("socket: ") + std::strerror(errno));
  int on = 1, off = 0;
  if (family == AF_INET6) {
    setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    setsockopt(fd_, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on);
  }
  if (family == AF_INET) setsockopt(fd_, IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
  set_buffer(fd_, SO_RCVBUF, SO_RCVBUFFORCE, static_cast<int>(opts.buffer_bytes));
  set_buffer(fd_, SO_SNDBUF, SO_SNDBUFFORCE, static_cast<int>(opts.buffer_bytes));
  if (opts.reuse_address) setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (!opts.device.empty() && setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, opts.device.c_str(),
                                         static_cast<socklen_t>(opts.device.size())) != 0) {
    int e = errno;
    close();
    return Err(e == EPERM ? Errc::kUnsupported : Errc::kIo,
               "SO_BINDTODEVICE " + opts.device + ": " + std::strerror(e) +
                   (e == EPERM ? " (needs root or CAP_NET_RAW)" : ""));
  }
  if (::bind(fd_, local.sockaddr_ptr(), local.size()) != 0) {
    int e = errno;
    close();
    return Err(Errc::kIo, "bind " + local.to_string() + ": " + std::strerror(e));
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  local_ = Address(reinterpret_cast<sockaddr*>(&ss), len);
  gso_ = opts.gso;
  gro_ = opts.gro && setsockopt(fd_, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
  rx_ = std::make_unique<RecvBuffers>();
  return Ok();
}

std::size_t UdpSocket::receive(const Receiver& on_datagram, std::size_t max_datagrams) {
  RecvBuffers& rx = *rx_;
  std::size_t total = 0;
  while (total < max_datagrams) {
    for (std::size_t i = 0; i < kRecvBatch; ++i) {
      rx.iovs[i] = iovec{rx.data.data() + i * kRecvBufferSize, kRecvBufferSize};
      msghdr& h = rx.msgs[i].msg_hdr;
      h = msghdr{};
      h.msg_name = &rx.addrs[i];
      h.msg_namelen = sizeof rx.addrs[i];
      h.msg_iov = &rx.iovs[i];
      h.msg_iovlen = 1;
      h.msg_control = rx.control[i];
      h.msg_controllen = sizeof rx.control[i];
    }
    int n = recvmmsg(fd_, rx.msgs, kRecvBatch, MSG_DONTWAIT, nullptr);
    ++counters_.recv_calls;
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      msghdr& h = rx.msgs[i].msg_hdr;
      std::size_t len = rx.msgs[i].msg_len;
      std::size_t segment = len;
      std::uint8_t ecn = 0;
      for (cmsghdr* cm = CMSG_FIRSTHDR(&h); cm != nullptr; cm = CMSG_NXTHDR(&h, cm)) {
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO) {
          int seg = 0;
          std::memcpy(&seg, CMSG_DATA(cm), sizeof seg);
          if (seg > 0) segment = static_cast<std::size_t>(seg);
        } else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) ||
                   (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS)) {
          std::uint8_t tos = 0;
          std::memcpy(&tos, CMSG_DATA(cm), 1);
          ecn = tos & 0x3;
        }
      }
      Address from(reinterpret_cast<const sockaddr*>(&rx.addrs[i]), h.msg_namelen);
      const std::uint8_t* base = rx.data.data() + static_cast<std::size_t>(i) * kRecvBufferSize;
      for (std::size_t off = 0; off < len; off += segment) {
        std::size_t n_bytes = std::min(segment, len - off);
        ++counters_.datagrams_received;
        ++total;
        on_datagram(from, ByteView(base + off, n_bytes), ecn);
      }
    }
    if (static_cast<std::size_t>(n) < kRecvBatch) break;
  }
  return total;
}

bool UdpSocket::send(const Address& to, ByteView data, std::size_t segment, std::uint8_t ecn) {
  if (fd_ < 0 || data.empty()) return false;
  if (ecn != last_ecn_) {
    int tos = ecn;
    if (to.family() == AF_INET6) {
      setsockopt(fd_, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof tos);
    } else {
      setsockopt(fd_, IPPROTO_IP, IP_TOS, &tos, sizeof tos);
    }
    last_ecn_ = ecn;
  }
  std::size_t nseg = (data.size() + segment - 1) / segment;
  if (nseg > 1 && !gso_) {
    bool ok = true;
    for (std::size_t off = 0; off < data.size(); off += segment) {
      ok = send(to, data.subspan(off, std::min(segment, data.size() - off)), segment, ecn) && ok;
    }
    return ok;
  }
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(to.sockaddr_ptr());
  msg.msg_namelen = to.size();
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  if (nseg > 1) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    auto seg = static_cast<std::uint16_t>(segment);
    std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  }
  for (;;) {
    ++counters_.send_calls;
    ssize_t r = ::sendmsg(fd_, &msg, 0);
    if (r >= 0) {
      counters_.datagrams_sent += nseg;
      return true;
    }
    if (errno == EINTR) continue;
    if (nseg > 1 && (errno == EIO || errno == EINVAL || errno == EOPNOTSUPP)) {
      log::get("transport")
          ->info("UDP GSO unavailable ({}); sending packets one by one", std::strerror(errno));
      gso_ = false;
      return send(to, data, segment, ecn);
    }
    counters_.send_errors += nseg;
    return false;
  }
}

GsoSender::GsoSender(UdpSocket& socket) : socket_(socket), buf_(kMaxBatchBytes + 65536) {}

std::span<std::uint8_t> GsoSender::buffer(std::size_t max_len) {
  if (len_ + max_len > buf_.size()) flush();
  return {buf_.data() + len_, buf_.size() - len_};
}

void GsoSender::commit(const Path& path, std::size_t len, std::uint8_t ecn) {
  if (len == 0) return;
  bool fits = count_ > 0 && !sealed_ && path.remote == to_ && ecn == ecn_ && len <= segment_ &&
              len_ + len <= kMaxBatchBytes && count_ < kMaxSegments;
  if (count_ > 0 && !fits) {
    // Send the open batch, then move this packet to the front.
    std::size_t start = len_;
    flush();
    std::memmove(buf_.data(), buf_.data() + start, len);
  }
  if (count_ == 0) {
    to_ = path.remote;
    ecn_ = ecn;
    segment_ = len;
  }
  len_ += len;
  ++count_;
  if (len < segment_) sealed_ = true;
}

void GsoSender::flush() {
  if (count_ > 0) socket_.send(to_, ByteView(buf_.data(), len_), segment_, ecn_);
  len_ = 0;
  count_ = 0;
  segment_ = 0;
  sealed_ = false;
}

}  // namespace qc::transport
