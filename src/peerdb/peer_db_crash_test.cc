// kill -9 in the middle of writes: a child process writes peers and events in a loop and reports
// each committed index on a pipe; the parent SIGKILLs it at a varying moment, reopens the
// database and checks that it is consistent and holds at least everything reported committed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "peerdb/peer_db.h"
#include "peerdb/test_dir.h"

namespace qc::peerdb {
namespace {

identity::PartialId pid(std::uint32_t n) {
  identity::PartialId p{};
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return p;
}

// The child: never returns.
[[noreturn]] void write_forever(const std::string& dir, std::uint32_t first, int fd) {
  auto db = PeerDb::open(dir);
  if (!db) _exit(2);
  for (std::uint32_t i = first;; ++i) {
    PeerUpdate u;
    u.partial = pid(i);
    u.cert_chain = std::vector<Bytes>{Bytes(1500, static_cast<std::uint8_t>(i))};
    u.addresses.push_back({"10.1.0." + std::to_string(i % 250) + ":7420", AddressKind::kBeacon, i});
    u.seen = EventKind::kBeaconObserved;
    u.now_ms = 1'000'000 + i;
    if (!(*db)->upsert_peer(u)) _exit(3);
    if (!(*db)->record_event({0, EventKind::kBeaconObserved, pid(i), 1, u.now_ms, "x"})) _exit(4);
    if (write(fd, &i, sizeof i) != sizeof i) _exit(5);
  }
}

TEST(PeerDbCrash, SurvivesKill9MidWrite) {
  testing::TempDir d;
  const std::string dir = d.sub("peerdb");
  std::uint32_t next = 0;  // first index not yet known committed
  for (int round = 0; round < 4; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      write_forever(dir, next, fds[1]);
    }
    close(fds[1]);
    // Let it commit a varying number of writes, then kill it without warning.
    const std::uint32_t target = next + 20 + 37 * static_cast<std::uint32_t>(round);
    std::uint32_t last = UINT32_MAX, v = 0;
    while (read(fds[0], &v, sizeof v) == sizeof v) {
      last = v;
      if (v >= target) break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300 * round));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    while (read(fds[0], &v, sizeof v) == sizeof v) last = v;  // reported before it died
    close(fds[0]);
    ASSERT_NE(last, UINT32_MAX) << "the child committed nothing";

    auto db = PeerDb::open(dir);
    ASSERT_TRUE(db) << db.error().to_string();
    auto all = (*db)->list_peers();
    ASSERT_TRUE(all) << all.error().to_string();
    EXPECT_TRUE(all->errors.empty()) << all->errors.front().to_string();
    EXPECT_GE(all->items.size(), last + 1);
    for (std::uint32_t i = 0; i <= last; ++i) {
      auto p = (*db)->get_peer(pid(i));
      ASSERT_TRUE(p) << "peer " << i << " of " << last << ": " << p.error().to_string();
      ASSERT_EQ(p->cert_chain.size(), 1u);
      EXPECT_EQ(p->cert_chain[0], Bytes(1500, static_cast<std::uint8_t>(i)));
    }
    auto ev = (*db)->events();
    ASSERT_TRUE(ev);
    EXPECT_TRUE(ev->errors.empty());
    EXPECT_GE(ev->items.size(), last + 1);
    // And it is writable again.
    ASSERT_TRUE((*db)->upsert_peer({pid(0xfffffff0), {}, {}, {}, {}, 1}));
    next = last + 1;
  }
}

}  // namespace
}  // namespace qc::peerdb
