#include "peerdb/peer_db.h"

#include <gtest/gtest.h>
#include <lmdb.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "peerdb/codec.h"
#include "peerdb/test_dir.h"

namespace qc::peerdb {
namespace {

using testing::TempDir;

identity::PartialId pid(std::uint32_t n) {
  identity::PartialId p{};
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(n >> (24 - 8 * i));
  p[9] = 0x5a;
  return p;
}

std::unique_ptr<PeerDb> must_open(const std::string& dir, const Options& o = {}) {
  auto db = PeerDb::open(dir, o);
  EXPECT_TRUE(db) << (db ? "" : db.error().to_string());
  return db ? std::move(*db) : nullptr;
}

PeerUpdate seen_beacon(std::uint32_t n, UnixMs now, std::string addr = "10.0.0.2:7420") {
  PeerUpdate u;
  u.partial = pid(n);
  u.addresses.push_back({std::move(addr), AddressKind::kBeacon, now});
  u.seen = EventKind::kBeaconObserved;
  u.now_ms = now;
  return u;
}

TEST(PeerDb, UpsertMergesAndRoundTrips) {
  TempDir d;
  auto db = must_open(d.sub("peerdb"));
  ASSERT_TRUE(db);
  auto p = db->upsert_peer(seen_beacon(1, 1000));
  ASSERT_TRUE(p) << p.error().to_string();
  EXPECT_EQ(p->first_seen_ms, 1000u);
  EXPECT_FALSE(p->node_id);

  // The handshake proves the full id and the chain; the session address is added.
  PeerUpdate u;
  u.partial = pid(1);
  identity::NodeId id{};
  std::copy(u.partial.begin(), u.partial.end(), id.begin());
  id[31] = 0x77;
  u.node_id = id;
  u.cert_chain = std::vector<Bytes>{Bytes(300, 0xab), Bytes(200, 0xcd)};
  u.addresses.push_back({"10.0.0.2:7420", AddressKind::kSession, 2000});
  u.seen = EventKind::kSessionUp;
  u.now_ms = 2000;
  p = db->upsert_peer(u);
  ASSERT_TRUE(p) << p.error().to_string();

  auto g = db->get_peer(pid(1));
  ASSERT_TRUE(g) << g.error().to_string();
  EXPECT_EQ(*g, *p);
  EXPECT_EQ(g->node_id, id);
  ASSERT_EQ(g->cert_chain.size(), 2u);
  ASSERT_EQ(g->addresses.size(), 1u);
  EXPECT_EQ(g->addresses[0].kind, AddressKind::kSession);
  EXPECT_EQ(g->addresses[0].last_seen_ms, 2000u);
  EXPECT_EQ(g->last_seen(EventKind::kBeaconObserved), 1000u);
  EXPECT_EQ(g->last_seen(EventKind::kSessionUp), 2000u);
  EXPECT_EQ(g->first_seen_ms, 1000u);

  // A different full id for the same partial id is refused; the record is unchanged.
  id[31] = 0x78;
  u.node_id = id;
  auto bad = db->upsert_peer(u);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kExists);
  // A full id that does not start with the partial id is a caller error.
  id[0] ^= 1;
  u.node_id = id;
  EXPECT_EQ(db->upsert_peer(u).error().code, Errc::kInvalidArgument);

  EXPECT_EQ(db->get_peer(pid(99)).error().code, Errc::kNotFound);
  auto all = db->list_peers();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 1u);
  EXPECT_TRUE(all->errors.empty());
}

TEST(PeerDb, AddressesAreBoundedAndStaticStays) {
  TempDir d;
  Options o;
  o.max_addresses_per_peer = 3;
  auto db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  PeerUpdate s;
  s.partial = pid(1);
  s.addresses.push_back({"static.example:7420", AddressKind::kStatic, 0});
  ASSERT_TRUE(db->upsert_peer(s));
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(db->upsert_peer(seen_beacon(1, 100 + i, "10.0.0." + std::to_string(i) + ":1")));
  }
  // A beacon from the static address does not demote it.
  ASSERT_TRUE(db->upsert_peer(seen_beacon(1, 500, "static.example:7420")));
  auto p = db->get_peer(pid(1));
  ASSERT_TRUE(p);
  ASSERT_EQ(p->addresses.size(), 3u);
  EXPECT_EQ(p->addresses[0].host_port, "static.example:7420");
  EXPECT_EQ(p->addresses[0].kind, AddressKind::kStatic);
  EXPECT_EQ(p->addresses[0].last_seen_ms, 500u);
  EXPECT_EQ(p->addresses[1].host_port, "10.0.0.8:1");
  EXPECT_EQ(p->addresses[2].host_port, "10.0.0.9:1");
}

TEST(PeerDb, PeerTableIsBoundedByEvictingTheLeastRecent) {
  TempDir d;
  Options o;
  o.max_peers = 5;
  auto db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  for (std::uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(db->upsert_peer(seen_beacon(i, 1000 + i)));
  ASSERT_TRUE(db->upsert_peer(seen_beacon(0, 5000)));  // refresh peer 0
  ASSERT_TRUE(db->upsert_peer(seen_beacon(100, 6000)));
  auto c = db->counts();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->peers, 5u);
  EXPECT_TRUE(db->get_peer(pid(0)));
  EXPECT_EQ(db->get_peer(pid(1)).error().code, Errc::kNotFound);  // the least recent went
  EXPECT_TRUE(db->get_peer(pid(100)));
}

TEST(PeerDb, EventLogIsABoundedRing) {
  TempDir d;
  Options o;
  o.max_events = 10;
  auto db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  for (std::uint32_t i = 1; i <= 25; ++i) {
    Event e{0, EventKind::kSessionUp, pid(i), 7, 1000 + i, "e" + std::to_string(i)};
    auto seq = db->record_event(e);
    ASSERT_TRUE(seq) << seq.error().to_string();
    EXPECT_EQ(*seq, i);
  }
  auto ev = db->events();
  ASSERT_TRUE(ev);
  ASSERT_EQ(ev->items.size(), 10u);
  EXPECT_EQ(ev->items.front().seq, 16u);
  EXPECT_EQ(ev->items.back().seq, 25u);
  EXPECT_EQ(ev->items.back().detail, "e25");
  EXPECT_EQ(ev->items.back().peer, pid(25));
  EXPECT_EQ(ev->items.back().interface_id, 7u);
  auto tail = db->events(23);
  ASSERT_TRUE(tail);
  ASSERT_EQ(tail->items.size(), 2u);
  EXPECT_EQ(tail->items[0].seq, 24u);
  auto lim = db->events(0, 3);
  ASSERT_TRUE(lim);
  EXPECT_EQ(lim->items.size(), 3u);
  Event big{0, EventKind::kSessionUp, pid(1), 0, 1, std::string(1000, 'x')};
  EXPECT_EQ(db->record_event(big).error().code, Errc::kTooLarge);
}

TEST(PeerDb, BatchIsAllOrNothing) {
  TempDir d;
  auto db = must_open(d.path());
  ASSERT_TRUE(db);
  Batch b;
  for (std::uint32_t i = 0; i < 20; ++i) {
    b.peers.push_back(seen_beacon(i, 100 + i));
    b.events.push_back({0, EventKind::kBeaconObserved, pid(i), 4, 100 + i, ""});
  }
  b.peers.push_back(seen_beacon(3, 500));  // the same peer twice merges
  ASSERT_TRUE(db->apply(b));
  auto c = db->counts();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->peers, 20u);
  EXPECT_EQ(c->events, 20u);
  EXPECT_EQ(db->get_peer(pid(3))->last_seen(EventKind::kBeaconObserved), 500u);
  EXPECT_EQ(db->get_peer(pid(3))->first_seen_ms, 103u);

  Batch bad;
  bad.peers.push_back(seen_beacon(100, 1));
  bad.events.push_back({0, EventKind::kSessionUp, pid(100), 0, 1, std::string(1000, 'x')});
  EXPECT_EQ(db->apply(bad).error().code, Errc::kTooLarge);
  EXPECT_EQ(db->get_peer(pid(100)).error().code, Errc::kNotFound);
  EXPECT_EQ(db->counts()->events, 20u);
}

TEST(PeerDb, CachedRoutes) {
  TempDir d;
  Options o;
  o.max_routes_per_destination = 3;
  auto db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  CachedRoute r{pid(9), 0, Bytes{1, 2, 3}, 2, 100, 0};
  auto put = db->put_route(r);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->route_id, fnv1a64(r.route));
  // Same route again: created stays earliest, last_used latest.
  r.created_ms = 300;
  r.last_used_ms = 400;
  ASSERT_TRUE(db->put_route(r));
  auto got = db->routes_to(pid(9));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->items.size(), 1u);
  EXPECT_EQ(got->items[0].created_ms, 100u);
  EXPECT_EQ(got->items[0].last_used_ms, 400u);
  EXPECT_EQ(got->items[0].hop_count, 2u);

  for (std::uint8_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(db->put_route({pid(9), 0, Bytes{i}, 1, 1000u + i, 0}));
  }
  ASSERT_TRUE(db->put_route({pid(10), 0, Bytes{1}, 1, 1, 0}));
  got = db->routes_to(pid(9));
  ASSERT_TRUE(got);
  ASSERT_EQ(got->items.size(), 3u);  // bounded; the most recent kept, newest first
  EXPECT_EQ(got->items[0].route, Bytes{4});
  EXPECT_EQ(got->items[2].route, Bytes{2});

  ASSERT_TRUE(db->touch_route(pid(9), got->items[2].route_id, 5000));
  got = db->routes_to(pid(9));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->items[0].route, Bytes{2});
  EXPECT_EQ(db->touch_route(pid(9), 12345, 1).error().code, Errc::kNotFound);
  ASSERT_TRUE(db->erase_route(pid(9), got->items[0].route_id));
  EXPECT_EQ(db->routes_to(pid(9))->items.size(), 2u);
  EXPECT_EQ(db->list_routes()->items.size(), 3u);

  // Erasing a peer erases its routes.
  ASSERT_TRUE(db->upsert_peer(seen_beacon(9, 1)));
  ASSERT_TRUE(db->erase_peer(pid(9)));
  EXPECT_TRUE(db->routes_to(pid(9))->items.empty());
  EXPECT_EQ(db->routes_to(pid(10))->items.size(), 1u);
  EXPECT_EQ(db->put_route({pid(1), 0, Bytes(20000, 1), 1, 1, 0}).error().code, Errc::kTooLarge);
}

TEST(PeerDb, SweepRemovesStalePeersRoutesAndAddresses) {
  TempDir d;
  auto db = must_open(d.path());
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->upsert_peer(seen_beacon(1, 1000, "10.0.0.1:1")));   // stale
  ASSERT_TRUE(db->upsert_peer(seen_beacon(2, 1000, "10.0.0.2:1")));   // old address...
  ASSERT_TRUE(db->upsert_peer(seen_beacon(2, 9000, "10.0.0.22:1")));  // ...new one
  PeerUpdate s;
  s.partial = pid(2);
  s.addresses.push_back({"static:1", AddressKind::kStatic, 500});
  ASSERT_TRUE(db->upsert_peer(s));
  ASSERT_TRUE(db->put_route({pid(5), 0, Bytes{1}, 1, 1000, 0}));     // stale
  ASSERT_TRUE(db->put_route({pid(5), 0, Bytes{2}, 1, 1000, 8500}));  // used recently

  auto st = db->sweep(10000, 2000);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->peers, 1u);
  EXPECT_EQ(st->routes, 1u);
  EXPECT_EQ(st->addresses, 1u);
  EXPECT_EQ(st->corrupt, 0u);
  EXPECT_EQ(db->get_peer(pid(1)).error().code, Errc::kNotFound);
  auto p2 = db->get_peer(pid(2));
  ASSERT_TRUE(p2);
  ASSERT_EQ(p2->addresses.size(), 2u);  // the static address stays however old
  EXPECT_EQ(p2->addresses[0].host_port, "10.0.0.22:1");
  EXPECT_EQ(p2->addresses[1].host_port, "static:1");
  auto r = db->routes_to(pid(5));
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].route, Bytes{2});
  // A max age larger than now sweeps nothing.
  st = db->sweep(10000, 1'000'000);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->peers + st->routes + st->addresses, 0u);
}

TEST(PeerDb, ReopenKeepsEverything) {
  TempDir d;
  {
    auto db = must_open(d.path());
    ASSERT_TRUE(db);
    for (std::uint32_t i = 0; i < 50; ++i) ASSERT_TRUE(db->upsert_peer(seen_beacon(i, 100 + i)));
    ASSERT_TRUE(db->record_event({0, EventKind::kBeaconObserved, pid(1), 3, 5, ""}));
    ASSERT_TRUE(db->put_route({pid(1), 0, Bytes{7, 7}, 2, 5, 6}));
  }
  auto db = must_open(d.path());
  ASSERT_TRUE(db);
  auto c = db->counts();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->peers, 50u);
  EXPECT_EQ(c->events, 1u);
  EXPECT_EQ(c->routes, 1u);
  EXPECT_EQ(db->get_peer(pid(49))->last_seen(EventKind::kBeaconObserved), 149u);
  // Sequence numbers continue after a restart.
  auto seq = db->record_event({0, EventKind::kSessionUp, pid(1), 3, 6, ""});
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 2u);
}

TEST(PeerDb, MapFullIsAClearErrorAndKeepsEarlierData) {
  TempDir d;
  Options o;
  o.map_size = 256 * 1024;
  auto db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  std::uint32_t written = 0;
  Error err;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    PeerUpdate u = seen_beacon(i, 1000 + i);
    u.cert_chain = std::vector<Bytes>{Bytes(3000, static_cast<std::uint8_t>(i))};
    auto r = db->upsert_peer(u);
    if (!r) {
      err = r.error();
      break;
    }
    ++written;
  }
  ASSERT_GT(written, 5u);
  ASSERT_LT(written, 1000u) << "the map never filled";
  EXPECT_EQ(err.code, Errc::kLimit) << err.to_string();
  EXPECT_NE(err.message.find("map size"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("intact"), std::string::npos) << err.message;
  // Everything committed before is readable, now and after a reopen with a larger map.
  for (std::uint32_t i = 0; i < written; ++i) {
    auto p = db->get_peer(pid(i));
    ASSERT_TRUE(p) << i;
    EXPECT_EQ(p->cert_chain.at(0).at(0), static_cast<std::uint8_t>(i));
  }
  // Other writes may or may not fit; they must not crash either way.
  (void)db->record_event({0, EventKind::kSessionUp, pid(1), 0, 1, std::string(200, 'x')});
  db.reset();
  o.map_size = 4 * 1024 * 1024;
  db = must_open(d.path(), o);
  ASSERT_TRUE(db);
  EXPECT_EQ(db->list_peers()->items.size(), written);
  PeerUpdate u = seen_beacon(5000, 1);
  u.cert_chain = std::vector<Bytes>{Bytes(3000, 1)};
  EXPECT_TRUE(db->upsert_peer(u));
}

TEST(PeerDb, CorruptRecordIsAnErrorForThatRecordOnly) {
  TempDir d;
  {
    auto db = must_open(d.path());
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->upsert_peer(seen_beacon(1, 10)));
    ASSERT_TRUE(db->upsert_peer(seen_beacon(3, 10)));
    ASSERT_TRUE(db->put_route({pid(1), 0, Bytes{1}, 1, 10, 0}));
  }
  // Write garbage straight through LMDB: a bad peer value, a bad key, a bad route, a bad event.
  {
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, d.path().c_str(), 0, 0600), 0);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi peers, routes, events;
    ASSERT_EQ(mdb_dbi_open(txn, codec::kPeersDb, 0, &peers), 0);
    ASSERT_EQ(mdb_dbi_open(txn, codec::kRoutesDb, 0, &routes), 0);
    ASSERT_EQ(mdb_dbi_open(txn, codec::kEventsDb, 0, &events), 0);
    auto put = [&](MDB_dbi dbi, Bytes k, Bytes v) {
      MDB_val kv{k.size(), k.data()}, vv{v.size(), v.data()};
      ASSERT_EQ(mdb_put(txn, dbi, &kv, &vv, 0), 0);
    };
    auto k2 = codec::peer_key(pid(2));
    put(peers, k2, Bytes{1, 0x0a, 0xff, 0x13, 0x99});
    put(peers, Bytes{1, 2, 3}, Bytes{1});
    put(routes, codec::route_key(pid(1), 77), Bytes{1, 0x0a, 0x01, 0x05});  // id mismatch
    put(events, codec::event_key(99), Bytes{0xee});
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  auto db = must_open(d.path());
  ASSERT_TRUE(db);
  auto bad = db->get_peer(pid(2));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::kParse);
  EXPECT_NE(bad.error().message.find(to_hex(codec::peer_key(pid(2)))), std::string::npos);
  EXPECT_TRUE(db->get_peer(pid(1)));
  auto all = db->list_peers();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->errors.size(), 2u);
  auto r = db->routes_to(pid(1));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->errors.size(), 1u);
  auto ev = db->events();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->errors.size(), 1u);
  // The garbage event 99 holds its sequence number: new events come after it.
  auto seq = db->record_event({0, EventKind::kSessionDown, pid(1), 0, 25, ""});
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, 100u);

  // Upsert over a corrupt record replaces it; sweep removes the rest.
  ASSERT_TRUE(db->upsert_peer(seen_beacon(2, 20)));
  EXPECT_TRUE(db->get_peer(pid(2)));
  auto st = db->sweep(30, 1000);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->corrupt, 3u);
  EXPECT_EQ(st->peers, 0u);
  all = db->list_peers();
  EXPECT_EQ(all->items.size(), 3u);
  EXPECT_TRUE(all->errors.empty());
}

TEST(PeerDb, OpenErrorsAreClear) {
  TempDir d;
  // A regular file where the directory should be.
  std::ofstream(d.sub("file")) << "x";
  auto r = PeerDb::open(d.sub("file"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_NE(r.error().message.find(d.sub("file")), std::string::npos) << r.error().message;

  // Not an LMDB database.
  std::filesystem::create_directories(d.sub("junk"));
  std::ofstream(d.sub("junk/data.mdb")) << std::string(10000, 'j');
  r = PeerDb::open(d.sub("junk"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("move"), std::string::npos) << r.error().to_string();

  Options zero;
  zero.max_peers = 0;
  EXPECT_EQ(PeerDb::open(d.sub("z"), zero).error().code, Errc::kInvalidArgument);
}

// A small tmpfs stands in for a full disk (needs root to mount).
TEST(PeerDb, DiskFullIsAClearErrorAndKeepsEarlierData) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  TempDir d;
  const std::string mnt = d.sub("mnt");
  std::filesystem::create_directories(mnt);
  if (mount("qct-peerdb", mnt.c_str(), "tmpfs", 0, "size=512k") != 0) {
    GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  Options o;
  o.map_size = 64 * 1024 * 1024;  // far larger than the file system
  std::uint32_t written = 0;
  Error err;
  {
    auto db = must_open(mnt + "/peerdb", o);
    ASSERT_TRUE(db);
    for (std::uint32_t i = 0; i < 1000; ++i) {
      PeerUpdate u = seen_beacon(i, 1000 + i);
      u.cert_chain = std::vector<Bytes>{Bytes(3000, static_cast<std::uint8_t>(i))};
      auto r = db->upsert_peer(u);
      if (!r) {
        err = r.error();
        break;
      }
      ++written;
    }
    ASSERT_GT(written, 5u);
    ASSERT_LT(written, 1000u) << "the file system never filled";
    EXPECT_EQ(err.code, Errc::kIo) << err.to_string();
    EXPECT_NE(err.message.find("Free space"), std::string::npos) << err.message;
    auto p = db->get_peer(pid(0));  // the same handle still reads
    EXPECT_TRUE(p) << p.error().to_string();
  }
  // Reopened, everything committed before the disk filled is there.
  auto db = PeerDb::open(mnt + "/peerdb", o);
  ASSERT_TRUE(db) << db.error().to_string();
  for (std::uint32_t i = 0; i < written; ++i) {
    auto p = (*db)->get_peer(pid(i));
    ASSERT_TRUE(p) << i << ": " << p.error().to_string();
    EXPECT_EQ(p->cert_chain.at(0).at(0), static_cast<std::uint8_t>(i));
  }
}

TEST(PeerDb, PermissionDeniedIsClear) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores file permissions";
  TempDir d;
  std::filesystem::create_directories(d.sub("ro"));
  std::filesystem::permissions(
      d.sub("ro"), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  auto r = PeerDb::open(d.sub("ro/peerdb"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_NE(r.error().message.find("ermission"), std::string::npos) << r.error().message;
  std::filesystem::permissions(d.sub("ro"), std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace qc::peerdb
