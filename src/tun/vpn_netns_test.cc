// VPN mode against the real kernel (root only; skips otherwise): two namespaces, each with a TUN
// device configured by LinuxTun with its own cluster address, and two VpnRouters joined in-process
// by a fake mesh (a "wire" of datagrams moved by a pump thread, with a channel that opens on
// demand). A real `ping -6` from one namespace must reach the other's cluster address, and a ping
// to a cluster address that names no node must be answered with ICMPv6 Destination Unreachable.
// With tcp_gso TUNs, a real TCP transfer arrives intact while the receiving side writes merged
// segments (TcpCoalescer) to its kernel.
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <thread>

#include "common/clock.h"
#include "tun/linux_tun.h"
#include "tun/netns_lab.h"
#include "tun/test_packets.h"
#include "tun/vpn_router.h"

namespace qc::tun {
namespace {

using testing::NetnsLab;
using testing::node;
using testing::partial;
using testing::sh_output;

// One side's view of the fake mesh: the only node it knows is `peer`; its channel opens when
// first wanted (the pump reports it ready on its next turn). Datagrams go on `wire`.
struct Datagram {
  identity::PartialId from{};
  Bytes packet;
};
class WireMesh : public MeshPort {
 public:
  // `max_packet`: the largest packet the channel carries (0: no limit).
  WireMesh(identity::PartialId me, identity::PartialId peer, std::deque<Datagram>& wire,
           std::size_t max_packet)
      : me_(me), peer_(peer), wire_(wire), max_packet_(max_packet) {}
  SendResult send_datagram(const identity::PartialId& peer, ByteView packet) override {
    if (peer != peer_) return {Status::kUnreachable, 0};
    if (!open_) return {Status::kNotReady, 0};
    if (max_packet_ != 0 && packet.size() > max_packet_) return {Status::kTooBig, max_packet_};
    wire_.push_back({me_, Bytes(packet.begin(), packet.end())});
    return {Status::kSent, 0};
  }
  void want_peer(const identity::PartialId& peer) override {
    if (peer == peer_) opening_ = true;
  }
  // Called by the pump: a wanted channel becomes open; true when that just happened.
  bool finish_opening() {
    if (!opening_ || open_) return false;
    open_ = true;
    return true;
  }

 private:
  identity::PartialId me_, peer_;
  std::deque<Datagram>& wire_;
  std::size_t max_packet_;
  bool opening_ = false;
  bool open_ = false;
};

struct Side {
  std::unique_ptr<LinuxTun> tun;
  std::unique_ptr<WireMesh> mesh;
  std::unique_ptr<VpnRouter> router;
  identity::PartialId id{};
  std::deque<Datagram> inbox;  // datagrams sent to this side
};

// Two namespaces with a TUN device and a VpnRouter each, joined by the wire; a pump thread
// moves packets until the fixture is torn down.
class VpnNetnsTest : public ::testing::Test {
 protected:
  // TUN MTU `mtu` on both sides; the channel carries packets up to `max_packet` (0: any).
  // `tcp_gso`: TUNs with a virtio-net header, deliveries merged (VpnRouter::flush_tun).
  void start(std::size_t mtu, std::size_t max_packet, bool tcp_gso = false) {
    auto why = NetnsLab::skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    lab_ = std::make_unique<NetnsLab>();
    ASSERT_TRUE(lab_->add("a"));
    ASSERT_TRUE(lab_->add("b"));
    a.id = partial(0xa1);
    b.id = partial(0xb2);
    for (auto* s : {&a, &b}) {
      std::string role = s == &a ? "a" : "b";
      Result<std::unique_ptr<LinuxTun>> r = Err(Errc::kInternal, "setns failed");
      NetnsLab::run_in(role, [&] {
        r = LinuxTun::open(
            {.name = "qct-vpn0", .address = node(s->id[0]), .mtu = mtu, .tcp_gso = tcp_gso});
      });
      ASSERT_TRUE(r) << r.error().to_string();
      s->tun = std::move(*r);
    }
    a.mesh = std::make_unique<WireMesh>(a.id, b.id, b.inbox, max_packet);
    b.mesh = std::make_unique<WireMesh>(b.id, a.id, a.inbox, max_packet);
    for (auto* s : {&a, &b}) {
      VpnRouter::Config c;
      c.self = node(s->id[0]);
      s->router = std::make_unique<VpnRouter>(c, *s->tun, *s->mesh);
    }
    pump_ = std::thread([this] { pump(); });
  }
  // Stops the pump; after this the test may read the routers' counters.
  void stop() {
    stop_ = true;
    if (pump_.joinable()) pump_.join();
  }
  void TearDown() override { stop(); }

  // Runs ping -6 in namespace a with `args`; returns its exit status, output in `out`.
  int ping(const std::string& args, std::string& out) {
    return sh_output("ip netns exec " + NetnsLab::ns("a") + " ping -6 -n " + args, out);
  }

  std::unique_ptr<NetnsLab> lab_;  // declared first: destroyed after the devices close
  Side a, b;

 private:
  // The only thread that touches the routers while it runs.
  void pump() {
    while (!stop_.load()) {
      pollfd fds[2] = {{a.tun->fd(), POLLIN, 0}, {b.tun->fd(), POLLIN, 0}};
      ::poll(fds, 2, 20);
      Timestamp now = SystemClock::instance().now();
      for (auto* s : {&a, &b}) {
        while (s->router->pump_tun(now) > 0) {
        }
        Side& other = s == &a ? b : a;
        if (s->mesh->finish_opening()) s->router->on_peer_ready(other.id, now);
        while (!s->inbox.empty()) {
          s->router->on_mesh_datagram(s->inbox.front().from, s->inbox.front().packet, now);
          s->inbox.pop_front();
        }
        s->router->flush_tun();  // the batch is done (as the node does after a receive batch)
        s->router->on_timeout(now);
      }
    }
  }

  std::atomic<bool> stop_{false};
  std::thread pump_;
};

TEST_F(VpnNetnsTest, PingAcrossTheClusterAndUnreachableForUnknownAddress) {
  start(1280, 0);
  if (IsSkipped() || HasFatalFailure()) return;
  std::string out;
  int rc = ping("-c 3 -i 0.2 -W 5 " + identity::ipv6_to_string(node(0xb2)), out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("3 received"), std::string::npos) << out;

  // fdcc:1234:5678:c3c3:... names no node this mesh knows.
  int rc2 = ping("-c 1 -W 5 " + identity::ipv6_to_string(node(0xc3)), out);
  EXPECT_NE(rc2, 0) << out;
  EXPECT_NE(out.find("nreachable"), std::string::npos) << out;

  stop();
  const auto& ka = a.router->counters();
  const auto& kb = b.router->counters();
  EXPECT_GE(ka.mesh_sent, 3u);
  EXPECT_GE(ka.queued, 1u) << "the first ping waited for the channel to open";
  EXPECT_EQ(ka.unreachable, 1u);
  EXPECT_EQ(ka.icmp_sent, 1u);
  EXPECT_GE(kb.tun_written, 3u);
  EXPECT_EQ(ka.mesh_spoofed + kb.mesh_spoofed, 0u);
}

// A TUN MTU of 1400 over a channel that carries 1300: a 1348-byte ping that must not be
// fragmented is answered with Packet Too Big (mtu 1300); a 1248-byte one goes through.
TEST_F(VpnNetnsTest, OversizedPacketGetsPacketTooBig) {
  start(1400, 1300);
  if (IsSkipped() || HasFatalFailure()) return;
  std::string out;
  std::string dst = identity::ipv6_to_string(node(0xb2));
  EXPECT_EQ(ping("-c 1 -W 5 -s 1200 " + dst, out), 0) << out;
  int rc = ping("-c 1 -W 5 -M do -s 1300 " + dst, out);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("mtu=1300"), std::string::npos) << out;
  stop();
  EXPECT_EQ(a.router->counters().too_big, 1u);
  EXPECT_EQ(a.router->counters().icmp_sent, 1u);
}

// 16 MiB over TCP from a to b's cluster address with TUNs that take merged segments: the bytes
// arrive intact (SHA-256), b wrote most of them as super-packets, and every segment the kernel
// was handed counts once.
TEST_F(VpnNetnsTest, TcpTransferArrivesIntactThroughMergedWrites) {
  start(1280, 0, true);
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_TRUE(a.tun->tcp_gso());
  ASSERT_TRUE(b.tun->tcp_gso());
  std::string dst = identity::ipv6_to_string(node(0xb2));
  std::string result = "/tmp/qct-vpn-tcp-" + std::to_string(::getpid());
  std::string out;
  // The server: receives until the end, prints the byte count and the SHA-256.
  std::string server =
      "import socket,hashlib\n"
      "s=socket.socket(socket.AF_INET6)\n"
      "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n"
      "s.bind(('" + dst + "',5001))\n"
      "s.listen(1)\n"
      "s.settimeout(30)\n"
      "c,_=s.accept()\n"
      "c.settimeout(30)\n"
      "h=hashlib.sha256()\n"
      "n=0\n"
      "while True:\n"
      "  d=c.recv(1<<20)\n"
      "  if not d: break\n"
      "  h.update(d)\n"
      "  n+=len(d)\n"
      "print(n,h.hexdigest())\n";
  std::string client =
      "import socket,hashlib,random,time\n"
      "data=random.Random(7).randbytes(16<<20)\n"
      "for i in range(100):\n"
      "  try:\n"
      "    c=socket.create_connection(('" + dst + "',5001),timeout=30)\n"
      "    break\n"
      "  except OSError:\n"
      "    time.sleep(0.05)\n"
      "c.sendall(data)\n"
      "c.close()\n"
      "print(len(data),hashlib.sha256(data).hexdigest())\n";
  ASSERT_EQ(testing::sh("ip netns exec " + NetnsLab::ns("b") + " python3 -c \"" + server +
                        "\" > " + result + " 2>&1 &"),
            0);
  ASSERT_EQ(sh_output("ip netns exec " + NetnsLab::ns("a") + " timeout 60 python3 -c \"" + client +
                          "\"",
                      out),
            0)
      << out;
  std::string sent = out;
  std::string received;
  for (int i = 0; i < 200 && received.find(' ') == std::string::npos; ++i) {
    ::usleep(50000);
    sh_output("cat " + result, received);
  }
  testing::sh("rm -f " + result);
  EXPECT_EQ(received, sent) << "bytes and SHA-256 at b, then as sent by a";
  EXPECT_EQ(sent.rfind("16777216 ", 0), 0u) << sent;
  stop();
  const auto& k = b.router->counters();
  EXPECT_GT(k.tun_gso_writes, 0u);
  EXPECT_GE(k.tun_gso_segments, 2 * k.tun_gso_writes);
  EXPECT_GT(k.tun_gso_segments, 16u * 1024 * 1024 / 1280 / 2)
      << "most of the data went merged; written " << k.tun_written << ", super-packets "
      << k.tun_gso_writes;
  EXPECT_EQ(k.tun_write_errors, 0u);
  EXPECT_EQ(k.mesh_received, k.tun_written) << "every segment written once";
}

}  // namespace
}  // namespace qc::tun
