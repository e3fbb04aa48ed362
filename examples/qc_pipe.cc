// qc-pipe: netcat over the mesh, written against the C++ API (include/qc/node.h).
//
//   qc-pipe --config node.toml --listen 9 > received        # serve mesh port 9 once
//   qc-pipe --config node.toml --dial <peer>:9 < file        # send a file to it
//
// The program is a whole node (it embeds qc::Node with the given configuration): it joins the
// mesh, then copies standard input into one stream and the stream into standard output. With
// --stats it reports on standard error the bytes received, the throughput and the longest gap
// between two arrivals while data was flowing (a path failover shows up there).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "qc/node.h"

namespace {

int usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: qc-pipe --config FILE (--listen PORT | --dial PEER:PORT) [--stats]\n"
               "                [--timeout SECONDS]\n"
               "  Netcat over a quic-channel mesh: standard input goes into one end-to-end\n"
               "  encrypted stream, the stream comes out on standard output.\n"
               "  --config FILE      the node configuration (as for `qc node`)\n"
               "  --listen PORT      accept one stream on mesh port PORT\n"
               "  --dial PEER:PORT   open a stream to PORT on PEER (text id, <id>.fuse,\n"
               "                     cluster IPv6 address in [], or hex id prefix)\n"
               "  --stats            report bytes, throughput and the longest stall on stderr\n"
               "  --timeout SECONDS  how long to wait for the peer / the first stream (30)\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config, dial;
  int listen_port = -1;
  bool stats = false;
  int timeout_s = 30;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "qc-pipe: %s needs a value\n", a.c_str());
        std::exit(usage(2));
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") return usage(0);
    if (a == "--config")
      config = value();
    else if (a == "--listen")
      listen_port = std::atoi(value().c_str());
    else if (a == "--dial")
      dial = value();
    else if (a == "--stats")
      stats = true;
    else if (a == "--timeout")
      timeout_s = std::atoi(value().c_str());
    else {
      std::fprintf(stderr, "qc-pipe: unknown argument '%s'\n", a.c_str());
      return usage(2);
    }
  }
  if (config.empty() || (listen_port < 0) == dial.empty()) return usage(2);
  if (listen_port == 0 || listen_port > 65535) {
    std::fprintf(stderr, "qc-pipe: --listen needs a port from 1 to 65535\n");
    return 2;
  }

  auto node = qc::Node::start_from_file(config);
  if (!node) {
    std::fprintf(stderr, "qc-pipe: %s\n", node.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "qc-pipe: node %s (%s) up\n", (*node)->id().c_str(),
               (*node)->address().c_str());
  const auto timeout = std::chrono::seconds(timeout_s);

  std::unique_ptr<qc::Stream> stream;
  std::unique_ptr<qc::Listener> listener;
  if (listen_port > 0) {
    auto l = (*node)->listen(static_cast<std::uint16_t>(listen_port));
    if (!l) {
      std::fprintf(stderr, "qc-pipe: %s\n", l.error().message.c_str());
      return 1;
    }
    listener = std::move(*l);
    std::fprintf(stderr, "qc-pipe: listening on mesh port %d\n", listen_port);
    auto s = listener->accept(timeout);
    if (!s) {
      std::fprintf(stderr, "qc-pipe: %s\n", s.error().message.c_str());
      return 1;
    }
    stream = std::move(*s);
  } else {
    auto colon = dial.rfind(':');
    if (colon == std::string::npos) {
      std::fprintf(stderr, "qc-pipe: --dial wants PEER:PORT\n");
      return 2;
    }
    std::string peer = dial.substr(0, colon);
    if (peer.size() > 2 && peer.front() == '[' && peer.back() == ']')
      peer = peer.substr(1, peer.size() - 2);
    int port = std::atoi(dial.c_str() + colon + 1);
    if (port <= 0 || port > 65535) {
      std::fprintf(stderr, "qc-pipe: bad port in --dial %s\n", dial.c_str());
      return 2;
    }
    // The first circuits may need a moment after start: retry until the timeout.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto s = (*node)->dial(peer, static_cast<std::uint16_t>(port), timeout);
      if (s) {
        stream = std::move(*s);
        break;
      }
      bool retry = s.error().code == qc::Errc::kUnreachable || s.error().code == qc::Errc::kTimeout;
      if (!retry || std::chrono::steady_clock::now() >= deadline) {
        std::fprintf(stderr, "qc-pipe: %s\n", s.error().message.c_str());
        return 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  std::fprintf(stderr, "qc-pipe: stream with %s open\n", stream->peer().c_str());

  // Standard input -> stream, on its own thread.
  bool send_ok = true;
  std::thread sender([&] {
    std::vector<std::uint8_t> buf(256 * 1024);
    for (;;) {
      ssize_t n = ::read(0, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (auto r = stream->write(qc::ByteView(buf.data(), static_cast<std::size_t>(n))); !r) {
        std::fprintf(stderr, "qc-pipe: send: %s\n", r.error().message.c_str());
        send_ok = false;
        return;
      }
    }
    if (auto r = stream->finish(); !r) send_ok = false;
  });

  // Stream -> standard output.
  using Clock = std::chrono::steady_clock;
  std::vector<std::uint8_t> buf(256 * 1024);
  std::uint64_t received = 0;
  Clock::time_point first{}, last{};
  double max_gap = 0;
  bool recv_ok = true;
  for (;;) {
    auto n = stream->read(buf);
    if (!n) {
      std::fprintf(stderr, "qc-pipe: receive: %s\n", n.error().message.c_str());
      recv_ok = false;
      break;
    }
    if (*n == 0) break;
    auto now = Clock::now();
    if (received == 0)
      first = now;
    else
      max_gap = std::max(max_gap, std::chrono::duration<double>(now - last).count());
    last = now;
    received += *n;
    for (std::size_t off = 0; off < *n;) {
      ssize_t w = ::write(1, buf.data() + off, *n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        std::fprintf(stderr, "qc-pipe: standard output: %s\n", std::strerror(errno));
        return 1;
      }
      off += static_cast<std::size_t>(w);
    }
  }
  sender.join();
  if (stats) {
    double secs = received ? std::chrono::duration<double>(last - first).count() : 0;
    std::fprintf(stderr,
                 "qc-pipe: received %llu bytes in %.3f s (%.1f MB/s); longest stall %.3f s\n",
                 static_cast<unsigned long long>(received), secs,
                 secs > 0 ? static_cast<double>(received) / secs / 1e6 : 0.0, max_gap);
  }
  // Everything written must be acknowledged before the node stops, or it is lost.
  if (send_ok && recv_ok) {
    if (auto r = stream->wait_closed(std::chrono::seconds(std::max(timeout_s, 60))); !r) {
      std::fprintf(stderr, "qc-pipe: %s\n", r.error().message.c_str());
      send_ok = false;
    }
    // Our side is done once the peer acknowledged everything; the peer's side needs our last
    // acknowledgements, which go out within an ACK delay: linger briefly before stopping.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return send_ok && recv_ok ? 0 : 1;
}
