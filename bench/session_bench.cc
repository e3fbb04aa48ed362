// Bulk transfer over one neighbour session on loopback, against Debian's ngtcp2 example pair.
//
//   session_bench [--mib=N] [--runs=R] [--cc=cubic|reno|bbr|bbr2] [--no-baseline]
//
// 1. Two SessionManagers (one thread and io_context each, like two nodes) on 127.0.0.1; the
//    dialling node sends N MiB on one bulk stream of the session; MB/s (10^6 B/s) is measured
//    from the sender's first write to the receiver's FIN.
// 2. gtlsserver/gtlsclient (packages ngtcp2-server, ngtcp2-client) with an N MiB file in a
//    private /dev/shm directory, as in notes/ngtcp2-example-bench.sh: the client's wall time for
//    the download gives MB/s. Both processes are stopped by PID.
// Runs alternate between the two so both see the same machine load. Prints every run, the
// medians and the ratio ours / example (target >= 0.8).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/log.h"
#include "identity/cert_tool.h"
#include "link/session_manager.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::uint64_t mib = 1024;
  int runs = 3;
  std::string cc = "cubic";
  bool baseline = true;
  std::size_t answer_every = 32;  // transport::EndpointOptions::answer_every
};

struct NodeFiles {
  std::string ca, cert, key;
};

double thread_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

qc::transport::CongestionControl cc_of(const std::string& name) {
  if (name == "reno") return qc::transport::CongestionControl::kReno;
  if (name == "bbr") return qc::transport::CongestionControl::kBbr;
  if (name == "bbr2") return qc::transport::CongestionControl::kBbr2;
  return qc::transport::CongestionControl::kCubic;
}

struct OurRun {
  double mbps = 0;
  double sender_cpu = 0, receiver_cpu = 0;
  std::uint64_t packets = 0, sendmsg_calls = 0, recv_calls = 0, datagrams_in = 0;
  qc::transport::ConnectionStats sender_stats;
};

OurRun run_ours(const NodeFiles& a, const NodeFiles& b, std::uint64_t bytes, const std::string& cc,
                std::size_t answer_every) {
  std::atomic<bool> finished{false};
  std::atomic<std::int64_t> t_start_ns{0}, t_end_ns{0};
  std::promise<std::uint16_t> port_promise;
  OurRun out;
  auto options = [&](std::uint16_t port) {
    qc::link::SessionManagerOptions o;
    o.listen = *qc::transport::Address::parse("127.0.0.1", port);
    o.cc = cc_of(cc);
    o.endpoint.answer_every = answer_every;
    return o;
  };
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
  };

  std::thread receiver([&] {
    auto id = qc::identity::Identity::load({b.ca, b.cert, b.key});
    if (!id) std::abort();
    asio::io_context io;
    std::uint64_t got = 0;
    qc::link::SessionCallbacks cb;
    cb.on_stream_data = [&](qc::link::Session&, std::int64_t, qc::ByteView d, bool fin) {
      got += d.size();
      if (fin) {
        t_end_ns = now_ns();
        finished = true;
      }
    };
    qc::link::SessionManager mgr(io, *id, options(0), cb);
    if (!mgr.start()) std::abort();
    port_promise.set_value(mgr.local_address().port());
    double cpu0 = thread_cpu_seconds();
    while (!finished) io.run_for(std::chrono::milliseconds(20));
    out.receiver_cpu = thread_cpu_seconds() - cpu0;
    out.recv_calls = mgr.endpoint().udp_counters().recv_calls;
    out.datagrams_in = mgr.endpoint().udp_counters().datagrams_received;
    if (got != bytes) std::fprintf(stderr, "receiver got %llu bytes\n", (unsigned long long)got);
    // Let the sender see the last ACKs, then say goodbye.
    io.run_for(std::chrono::milliseconds(50));
    mgr.shutdown();
    io.run_for(std::chrono::milliseconds(20));
  });

  std::uint16_t port = port_promise.get_future().get();
  std::thread sender([&] {
    auto id = qc::identity::Identity::load({a.ca, a.cert, a.key});
    if (!id) std::abort();
    asio::io_context io;
    static std::vector<std::uint8_t> chunk(256 * 1024, 0x5a);
    std::uint64_t sent = 0;
    std::int64_t stream = -1;
    qc::link::SessionManager* mgr_ptr = nullptr;
    qc::link::Session::Id sid = 0;
    auto pump = [&] {
      qc::link::Session* s = mgr_ptr->session(sid);
      if (s == nullptr) return;
      while (sent < bytes) {
        std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), bytes - sent));
        auto w = s->write_stream(stream, qc::ByteView(chunk.data(), n), sent + n == bytes);
        if (!w) return;
        sent += *w;
        if (*w < n) return;
      }
    };
    qc::link::SessionCallbacks cb;
    cb.on_up = [&](qc::link::Session& s) {
      sid = s.id();
      auto st = s.open_stream();
      if (!st) std::abort();
      stream = *st;
      t_start_ns = now_ns();
      pump();
    };
    cb.on_stream_writable = [&](qc::link::Session&, std::int64_t) { pump(); };
    qc::link::SessionManager mgr(io, *id, options(0), cb);
    mgr_ptr = &mgr;
    if (!mgr.start()) std::abort();
    if (!mgr.dial(*qc::transport::Address::parse("127.0.0.1", port))) std::abort();
    double cpu0 = thread_cpu_seconds();
    while (!finished) io.run_for(std::chrono::milliseconds(20));
    out.sender_cpu = thread_cpu_seconds() - cpu0;
    if (qc::link::Session* s = mgr.session(sid); s != nullptr && s->connection() != nullptr) {
      out.sender_stats = s->connection()->stats();
    }
    out.packets = mgr.endpoint().udp_counters().datagrams_sent;
    out.sendmsg_calls = mgr.endpoint().udp_counters().send_calls;
    io.run_for(std::chrono::milliseconds(80));
    mgr.shutdown();
  });
  sender.join();
  receiver.join();
  double secs = static_cast<double>(t_end_ns - t_start_ns) / 1e9;
  out.mbps = secs > 0 ? static_cast<double>(bytes) / 1e6 / secs : 0;
  return out;
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// Debian's example pair: one gtlsserver for the whole benchmark, one gtlsclient per run.
class ExamplePair {
 public:
  ExamplePair(std::string dir, NodeFiles a, NodeFiles b, std::uint64_t bytes, std::string cc)
      : dir_(std::move(dir)),
        a_(std::move(a)),
        b_(std::move(b)),
        bytes_(bytes),
        cc_(std::move(cc)) {}
  ~ExamplePair() { stop(); }

  bool start() {
    if (access(kServer, X_OK) != 0 || access(kClient, X_OK) != 0) {
      std::printf("example pair not installed (apt-get install ngtcp2-server ngtcp2-client)\n");
      return false;
    }
    std::string htdocs = dir_ + "/htdocs";
    std::filesystem::create_directories(htdocs);
    {
      std::ofstream f(htdocs + "/bulk.bin", std::ios::binary);
      std::vector<char> mib(1 << 20, 0);
      for (std::uint64_t i = 0; i < bytes_ >> 20; ++i) {
        f.write(mib.data(), static_cast<std::streamsize>(mib.size()));
      }
    }
    port_ = std::to_string(20000 + (getpid() % 20000));
    server_ = spawn({kServer, "-q", "--cc=" + cc_, "--verify-client", "-d", htdocs, "127.0.0.1",
                     port_, a_.key, a_.cert},
                    dir_ + "/server.log");
    if (server_ < 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return true;
  }

  // MB/s of one download, or 0 when the client failed.
  double run(int* exit_code) {
    auto t0 = Clock::now();
    pid_t cpid = spawn({kClient, "-q", "--no-quic-dump", "--no-http-dump",
                        "--exit-on-all-streams-close", "--cc=" + cc_, "--key", b_.key, "--cert",
                        b_.cert, "127.0.0.1", port_, "https://127.0.0.1:" + port_ + "/bulk.bin"},
                       dir_ + "/client.log");
    int status = 0;
    if (cpid > 0) waitpid(cpid, &status, 0);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return *exit_code == 0 ? static_cast<double>(bytes_) / 1e6 / secs : 0;
  }

  void stop() {
    if (server_ > 0) {
      kill(server_, SIGTERM);
      waitpid(server_, nullptr, 0);
      server_ = -1;
      std::error_code ec;
      std::filesystem::remove(dir_ + "/htdocs/bulk.bin", ec);
    }
  }

 private:
  static constexpr const char* kServer = "/usr/sbin/gtlsserver";
  static constexpr const char* kClient = "/usr/bin/gtlsclient";
  std::string dir_;
  NodeFiles a_, b_;
  std::uint64_t bytes_;
  std::string cc_;
  std::string port_;
  pid_t server_ = -1;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--mib=", 0) == 0) {
      args.mib = std::stoull(a.substr(6));
    } else if (a.rfind("--runs=", 0) == 0) {
      args.runs = std::stoi(a.substr(7));
    } else if (a.rfind("--cc=", 0) == 0) {
      args.cc = a.substr(5);
    } else if (a.rfind("--answer-every=", 0) == 0) {
      args.answer_every = std::stoul(a.substr(15));
    } else if (a == "--no-baseline") {
      args.baseline = false;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--mib=N] [--runs=R] [--cc=cubic|reno|bbr|bbr2] [--answer-every=N] "
                   "[--no-baseline]\n",
                   argv[0]);
      return 2;
    }
  }
  qc::log::set_level("warn");
  std::string tmpl = "/dev/shm/qc-session-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  auto ca = qc::identity::make_ca({.name = "bench CA"});
  if (!ca) return 1;
  auto files_a = qc::identity::make_node_files(dir + "/a", *ca, "bench-a");
  auto files_b = qc::identity::make_node_files(dir + "/b", *ca, "bench-b");
  if (!files_a || !files_b) return 1;
  NodeFiles a{files_a->ca, files_a->cert, files_a->key};
  NodeFiles b{files_b->ca, files_b->cert, files_b->key};
  std::uint64_t bytes = args.mib << 20;

  std::printf("session_bench: %llu MiB over one neighbour session, loopback, cc=%s\n",
              (unsigned long long)args.mib, args.cc.c_str());
  // Runs alternate (ours, example, ours, ...) so that both see the same machine load.
  ExamplePair example(dir, a, b, bytes, args.cc);
  bool have_example = args.baseline && example.start();
  std::vector<double> ours, theirs;
  for (int i = 0; i < args.runs; ++i) {
    OurRun r = run_ours(a, b, bytes, args.cc, args.answer_every);
    double gib = static_cast<double>(bytes) / (1u << 30);
    std::printf(
        "  session run %d: %.1f MB/s (cpu s/GiB sender %.2f receiver %.2f; %.1f packets per "
        "sendmsg; %.1f datagrams per recvmmsg)\n",
        i + 1, r.mbps, r.sender_cpu / gib, r.receiver_cpu / gib,
        r.sendmsg_calls ? static_cast<double>(r.packets) / static_cast<double>(r.sendmsg_calls) : 0,
        r.recv_calls ? static_cast<double>(r.datagrams_in) / static_cast<double>(r.recv_calls) : 0);
    if (std::getenv("QC_BENCH_VERBOSE") != nullptr) {
      std::printf("    sender: srtt %.3f ms, min_rtt %.3f ms, cwnd %llu B, in flight %llu B\n",
                  static_cast<double>(r.sender_stats.smoothed_rtt) / 1e6,
                  static_cast<double>(r.sender_stats.min_rtt) / 1e6,
                  (unsigned long long)r.sender_stats.cwnd,
                  (unsigned long long)r.sender_stats.bytes_in_flight);
    }
    std::fflush(stdout);
    ours.push_back(r.mbps);
    if (have_example) {
      int code = 0;
      double mbps = example.run(&code);
      std::printf("  example run %d: %.1f MB/s (gtlsclient exit %d)\n", i + 1, mbps, code);
      std::fflush(stdout);
      if (mbps > 0) theirs.push_back(mbps);
    }
  }
  example.stop();
  double ours_median = median(ours);
  std::printf("session median: %.1f MB/s\n", ours_median);
  if (!theirs.empty()) {
    double ex_median = median(theirs);
    std::printf("example pair (gtlsserver/gtlsclient) median: %.1f MB/s\n", ex_median);
    std::printf("ratio session/example: %.2f (target >= 0.80)\n", ours_median / ex_median);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
