// Peer database costs: each write is one synchronous LMDB commit, so what a node can afford per
// beacon or session event is bounded by the commit, not by encoding. Prints operations per second
// for PeerDb calls and, as the baseline, a raw LMDB put + commit of a value of the same size in the
// same directory's file system, and the ratio of the two.
//
//   bench_peerdb [dir] [n]     (dir: empty or absent = a fresh directory under /tmp, removed
//                               afterwards; n defaults to 2000)
#include <lmdb.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "peerdb/codec.h"
#include "peerdb/peer_db.h"

namespace {

using qc::peerdb::PeerDb;
using Clock = std::chrono::steady_clock;

qc::identity::PartialId pid(std::uint32_t n) {
  qc::identity::PartialId p{};
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  return p;
}

template <typename F>
double per_second(std::uint32_t n, F&& f) {
  auto t0 = Clock::now();
  for (std::uint32_t i = 0; i < n; ++i) f(i);
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return n / s;
}

double raw_lmdb(const std::string& dir, std::uint32_t n, std::size_t value_size) {
  std::filesystem::create_directories(dir);
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, 256u << 20);
  if (mdb_env_open(env, dir.c_str(), 0, 0600) != 0) return 0;
  MDB_dbi dbi;
  MDB_txn* txn;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, nullptr, 0, &dbi);
  mdb_txn_commit(txn);
  std::string value(value_size, 'v');
  double r = per_second(n, [&](std::uint32_t i) {
    mdb_txn_begin(env, nullptr, 0, &txn);
    auto p = pid(i);
    MDB_val k{p.size(), p.data()}, v{value.size(), value.data()};
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
  });
  mdb_env_close(env);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string base;
  const bool given = argc > 1 && argv[1][0] != '\0';
  if (given) {
    base = argv[1];
  } else {
    std::string t = (std::filesystem::temp_directory_path() / "qc-bench-peerdb-XXXXXX").string();
    if (!mkdtemp(t.data())) return 1;
    base = t;
  }
  const std::uint32_t n = argc > 2 ? static_cast<std::uint32_t>(std::stoul(argv[2])) : 2000;

  auto db = PeerDb::open(base + "/peerdb");
  if (!db) {
    std::fprintf(stderr, "%s\n", db.error().to_string().c_str());
    return 1;
  }
  PeerDb& d = **db;
  qc::peerdb::PeerUpdate u;
  u.addresses.push_back({"10.0.0.1:7420", qc::peerdb::AddressKind::kBeacon, 1});
  u.seen = qc::peerdb::EventKind::kBeaconObserved;
  const double upsert = per_second(n, [&](std::uint32_t i) {
    u.partial = pid(i);
    u.now_ms = 1000 + i;
    (void)d.upsert_peer(u);
  });
  auto first = d.get_peer(pid(0));
  auto encoded =
      first ? qc::peerdb::codec::encode_peer(*first) : qc::Result<qc::Bytes>(qc::Bytes(40));
  const std::size_t value_size = encoded ? encoded->size() : 40;
  const double refresh = per_second(n, [&](std::uint32_t i) {
    u.partial = pid(i % 100);
    u.now_ms = 100000 + i;
    (void)d.upsert_peer(u);
  });
  const double event = per_second(n, [&](std::uint32_t i) {
    (void)d.record_event({0, qc::peerdb::EventKind::kBeaconObserved, pid(i), 1, i, ""});
  });
  constexpr std::uint32_t kBatch = 100;
  const double batched = kBatch * per_second(n / kBatch, [&](std::uint32_t b) {
                           qc::peerdb::Batch batch;
                           for (std::uint32_t i = 0; i < kBatch; ++i) {
                             u.partial = pid(b * kBatch + i);
                             u.now_ms = 200000 + i;
                             batch.peers.push_back(u);
                             batch.events.push_back({0, qc::peerdb::EventKind::kBeaconObserved,
                                                     u.partial, 1, u.now_ms, ""});
                           }
                           (void)d.apply(batch);
                         });
  const double get = per_second(n, [&](std::uint32_t i) { (void)d.get_peer(pid(i % n)); });
  auto t0 = Clock::now();
  auto all = d.list_peers();
  const double list_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  const double baseline = raw_lmdb(base + "/raw", n, value_size);

  std::printf("peerdb bench, %u operations each, in %s\n", n, base.c_str());
  std::printf("  baseline raw LMDB put+commit   %10.0f /s\n", baseline);
  std::printf("  upsert_peer (new peer)         %10.0f /s  ratio %.2f\n", upsert,
              upsert / baseline);
  std::printf("  upsert_peer (refresh)          %10.0f /s  ratio %.2f\n", refresh,
              refresh / baseline);
  std::printf("  record_event                   %10.0f /s  ratio %.2f\n", event, event / baseline);
  std::printf("  apply, batches of %u peer+event %10.0f /s  ratio %.2f\n", kBatch, batched,
              batched / baseline);
  std::printf("  get_peer                       %10.0f /s\n", get);
  std::printf("  list_peers of %zu               %10.2f ms\n", all ? all->items.size() : 0,
              list_ms);
  db->reset();
  if (!given) std::filesystem::remove_all(base);
  return 0;
}
