// PeerDb: the node's persistent database of known peers, a bounded log of events about them, and
// cached routes (layer 4; docs/discovery-peerdb.md).
//
// Storage: one LMDB environment per node in <data_dir>/peerdb/ (kSubdir), with the named
// databases "peers", "events", "routes" and "meta". Every write is one short transaction committed
// with LMDB's default synchronous flush, so a committed write survives a crash or kill -9 and the
// files are never left half-written. Timestamps are unix milliseconds supplied by the caller
// (time is a value; nothing here reads a clock).
//
// Errors: every call returns a Result. A full map is kLimit, permissions and disk errors are kIo,
// each with what to do; a failed write leaves the last committed state intact. A record that does
// not decode is kParse for that record only: listings skip it and report it in `errors`, and
// sweep() deletes it.
//
// Threading: not thread-safe. One PeerDb belongs to the node's event-loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "peerdb/lmdb_env.h"
#include "peerdb/records.h"

namespace qc::peerdb {

// The folder under the node's data_dir that holds the environment.
inline constexpr char kSubdir[] = "peerdb";

struct Options {
  // Largest size the database files may grow to. LMDB reserves it as address space only; the
  // file grows with use. Reopening with a smaller value than in use keeps the size in use.
  std::size_t map_size = 64 * 1024 * 1024;
  // Event log bound: record_event drops the oldest events beyond it.
  std::size_t max_events = 10000;
  // Peer table bound: adding a new peer to a full table evicts the least recently active one.
  std::size_t max_peers = 4096;
  // Addresses kept per peer: beyond it the least recently seen non-static address goes.
  std::size_t max_addresses_per_peer = 16;
  // Cached routes kept per destination: beyond it the least recently used goes.
  std::size_t max_routes_per_destination = 8;
};

// Several writes committed as one transaction (one disk flush instead of one per write): all of
// them or, on any error, none.
struct Batch {
  std::vector<PeerUpdate> peers;  // applied in order
  std::vector<Event> events;      // appended after the peers
};

// What sweep() removed.
struct SweepStats {
  std::size_t peers = 0;
  std::size_t routes = 0;
  std::size_t addresses = 0;  // stale addresses dropped from peers that were kept
  std::size_t corrupt = 0;    // records that did not decode
};

struct Counts {
  std::size_t peers = 0, events = 0, routes = 0;
};

class PeerDb {
 public:
  // Opens (creating if needed) the database in `dir`, normally <data_dir>/peerdb. Errors:
  // kIo (permissions, disk, not a directory), kParse (not an LMDB database), kUnsupported (written
  // by a newer schema), each naming the directory and what to do.
  static Result<std::unique_ptr<PeerDb>> open(const std::string& dir, const Options& options = {});

  PeerDb(const PeerDb&) = delete;
  PeerDb& operator=(const PeerDb&) = delete;
  ~PeerDb();

  // ---- peers ----

  // Merges `u` into the peer's record, creating it when new (first_seen_ms = u.now_ms), and
  // returns the stored record. kExists when the record already holds a different full node id;
  // kInvalidArgument when u.node_id does not start with u.partial or an address is empty or over
  // 300 bytes; kTooLarge for a chain over 64 KiB. A stored record that does not decode is
  // replaced by a fresh one built from `u` (logged as a warning: it was lost already).
  Result<Peer> upsert_peer(const PeerUpdate& u);
  // kNotFound when absent, kParse when the stored record is corrupt.
  Result<Peer> get_peer(const identity::PartialId& p);
  Result<Listing<Peer>> list_peers();
  // Removes the peer and its cached routes. Absent is not an error.
  Result<void> erase_peer(const identity::PartialId& p);

  // ---- events ----

  // Appends `e` (its seq is ignored) and returns the assigned sequence number; drops the oldest
  // events beyond max_events in the same transaction.
  Result<std::uint64_t> record_event(const Event& e);
  // Events with seq > after_seq, oldest first, at most `limit`.
  Result<Listing<Event>> events(std::uint64_t after_seq = 0, std::size_t limit = SIZE_MAX);

  // Applies `batch` in one transaction. A commit is a synchronous flush (milliseconds on a disk,
  // see docs/discovery-peerdb.md), so a node that records many beacons should batch them.
  Result<void> apply(const Batch& batch);

  // ---- cached routes ----

  // Stores a route to r.destination; route_id is computed from r.route, so putting a known route
  // again keeps the earliest created_ms and the latest last_used_ms. Returns the stored route.
  // Beyond max_routes_per_destination the least recently used route to that destination goes.
  Result<CachedRoute> put_route(const CachedRoute& r);
  // The routes to `dest`, most recently used first.
  Result<Listing<CachedRoute>> routes_to(const identity::PartialId& dest);
  Result<Listing<CachedRoute>> list_routes();
  // Sets last_used_ms; kNotFound when the route is not cached.
  Result<void> touch_route(const identity::PartialId& dest, std::uint64_t route_id, UnixMs now_ms);
  Result<void> erase_route(const identity::PartialId& dest, std::uint64_t route_id);

  // ---- maintenance ----

  // Removes peers whose last_activity_ms() is older than now_ms - max_age_ms, routes whose
  // last use (or creation, if never used) is older, non-static addresses older than that inside
  // the peers that stay, and every record that does not decode. One transaction.
  Result<SweepStats> sweep(UnixMs now_ms, UnixMs max_age_ms);
  Result<Counts> counts();

  const std::string& dir() const { return env_.dir(); }
  const Options& options() const { return options_; }

 private:
  PeerDb(lmdb::Env env, const Options& o) : env_(std::move(env)), options_(o) {}
  Result<void> init();
  Result<void> evict_one_peer(lmdb::Txn& txn);
  Result<Peer> upsert_in(lmdb::Txn& txn, const PeerUpdate& u);
  Result<std::uint64_t> append_event_in(lmdb::Txn& txn, const Event& e);

  lmdb::Env env_;
  Options options_;
  MDB_dbi peers_ = 0, events_ = 0, routes_ = 0, meta_ = 0;
};

}  // namespace qc::peerdb
