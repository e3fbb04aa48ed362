#include "peerdb/peer_db.h"

#include <algorithm>
#include <utility>

#include "common/log.h"
#include "peerdb/codec.h"

namespace qc::peerdb {

namespace {

using identity::PartialId;

std::string name_of(const PartialId& p) {
  return base32_encode(p);
}

bool has_prefix(ByteView key, ByteView prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

UnixMs route_age_ms(const CachedRoute& r) {
  return std::max(r.created_ms, r.last_used_ms);
}

// Keeps at most `max` addresses: drops the least recently seen, non-static ones first.
void trim_addresses(std::vector<PeerAddress>& a, std::size_t max) {
  while (a.size() > max) {
    auto victim = a.end();
    for (auto it = a.begin(); it != a.end(); ++it) {
      if (victim == a.end()) {
        victim = it;
        continue;
      }
      bool it_static = it->kind == AddressKind::kStatic;
      bool v_static = victim->kind == AddressKind::kStatic;
      if ((v_static && !it_static) ||
          (v_static == it_static && it->last_seen_ms < victim->last_seen_ms)) {
        victim = it;
      }
    }
    a.erase(victim);
  }
}

// The keys (copied) of every entry of `dbi` whose key starts with `prefix`.
Result<std::vector<Bytes>> keys_with_prefix(lmdb::Txn& txn, MDB_dbi dbi, ByteView prefix) {
  auto cur = lmdb::Cursor::open(txn, dbi);
  if (!cur) return Err(cur.error());
  std::vector<Bytes> keys;
  for (bool ok = cur->move(MDB_SET_RANGE, prefix); ok && has_prefix(cur->key(), prefix);
       ok = cur->move(MDB_NEXT)) {
    keys.emplace_back(cur->key().begin(), cur->key().end());
  }
  return keys;
}

}  // namespace

Result<std::unique_ptr<PeerDb>> PeerDb::open(const std::string& dir, const Options& options) {
  if (options.max_events == 0 || options.max_peers == 0 || options.max_addresses_per_peer == 0 ||
      options.max_routes_per_destination == 0) {
    return Err(Errc::kInvalidArgument, "peer database limits must be at least 1");
  }
  auto env = lmdb::Env::open(dir, options.map_size, 4);
  if (!env) return Err(env.error());
  std::unique_ptr<PeerDb> db(new PeerDb(std::move(*env), options));
  QC_TRY(db->init());
  return db;
}

PeerDb::~PeerDb() = default;

Result<void> PeerDb::init() {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  const std::pair<const char*, MDB_dbi*> dbs[] = {
      {codec::kPeersDb, &peers_},
      {codec::kEventsDb, &events_},
      {codec::kRoutesDb, &routes_},
      {codec::kMetaDb, &meta_},
  };
  for (auto [name, dbi] : dbs) {
    int rc = mdb_dbi_open(txn->get(), name, MDB_CREATE, dbi);
    if (rc != 0) return Err(env_.error(rc, std::string("opening sub-database ") + name));
  }
  auto schema = txn->get(meta_, as_bytes(codec::kSchemaKey), "reading the schema version");
  if (!schema) return Err(schema.error());
  if (!*schema) {
    Bytes v;
    codec::put_u64be(v, codec::kSchemaVersion);
    QC_TRY(txn->put(meta_, as_bytes(codec::kSchemaKey), v, "writing the schema version"));
  } else {
    ByteView v = **schema;
    std::uint64_t version = v.size() == 8 ? codec::get_u64be(v.data()) : 0;
    if (version != codec::kSchemaVersion) {
      return Err(Errc::kUnsupported,
                 "peer database " + env_.dir() + " has schema version " + std::to_string(version) +
                     ", this build reads version " + std::to_string(codec::kSchemaVersion) +
                     ": run a matching build, or move the directory aside to start afresh");
    }
  }
  return txn->commit("initialising");
}

// ---- peers ----

Result<Peer> PeerDb::upsert_peer(const PeerUpdate& u) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  auto p = upsert_in(*txn, u);
  if (!p) return p;
  QC_TRY(txn->commit("writing peer " + name_of(u.partial)));
  return p;
}

Result<Peer> PeerDb::upsert_in(lmdb::Txn& txn, const PeerUpdate& u) {
  if (u.node_id && !std::equal(u.partial.begin(), u.partial.end(), u.node_id->begin())) {
    return Err(Errc::kInvalidArgument,
               "node id does not start with partial id " + name_of(u.partial));
  }
  const Bytes key = codec::peer_key(u.partial);
  auto stored = txn.get(peers_, key, "reading peer " + name_of(u.partial));
  if (!stored) return Err(stored.error());

  Peer p;
  bool decoded = false;
  if (*stored) {
    auto d = codec::decode_peer(key, **stored);
    if (d) {
      p = std::move(*d);
      decoded = true;
    } else {
      log::get("peerdb")->warn("{}; replacing it", d.error().message);
    }
  }
  if (!decoded) {
    p.partial = u.partial;
    p.first_seen_ms = u.now_ms;
  }
  if (u.node_id) {
    if (p.node_id && *p.node_id != *u.node_id) {
      return Err(Errc::kExists,
                 "peer " + name_of(u.partial) + " is already known with a different full node id");
    }
    p.node_id = u.node_id;
  }
  if (u.cert_chain) p.cert_chain = *u.cert_chain;
  for (const auto& a : u.addresses) {
    auto it = std::find_if(p.addresses.begin(), p.addresses.end(),
                           [&](const PeerAddress& x) { return x.host_port == a.host_port; });
    if (it == p.addresses.end()) {
      p.addresses.push_back(a);
    } else {
      if (it->kind != AddressKind::kStatic) it->kind = a.kind;  // configured stays configured
      it->last_seen_ms = std::max(it->last_seen_ms, a.last_seen_ms);
    }
  }
  trim_addresses(p.addresses, options_.max_addresses_per_peer);
  if (u.seen) {
    auto& slot = p.last_seen_ms[static_cast<std::size_t>(*u.seen) - 1];
    slot = std::max(slot, u.now_ms);
  }
  auto value = codec::encode_peer(p);
  if (!value) return Err(value.error());

  if (!*stored) {
    auto n = txn.entries(peers_);
    if (!n) return Err(n.error());
    if (*n >= options_.max_peers) QC_TRY(evict_one_peer(txn));
  }
  QC_TRY(txn.put(peers_, key, *value, "writing peer " + name_of(u.partial)));
  return p;
}

Result<void> PeerDb::evict_one_peer(lmdb::Txn& txn) {
  auto cur = lmdb::Cursor::open(txn, peers_);
  if (!cur) return Err(cur.error());
  Bytes victim;
  UnixMs oldest = UINT64_MAX;
  for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
    auto p = codec::decode_peer(cur->key(), cur->value());
    UnixMs t = p ? p->last_activity_ms() : 0;  // corrupt records go first
    if (victim.empty() || t < oldest) {
      oldest = t;
      victim.assign(cur->key().begin(), cur->key().end());
      if (t == 0) break;
    }
  }
  if (victim.empty()) return Ok();
  QC_TRY(txn.del(peers_, victim, "evicting a peer"));
  auto routes = keys_with_prefix(txn, routes_, victim);
  if (!routes) return Err(routes.error());
  for (const auto& k : *routes) QC_TRY(txn.del(routes_, k, "evicting a peer's routes"));
  return Ok();
}

Result<Peer> PeerDb::get_peer(const PartialId& id) {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  const Bytes key = codec::peer_key(id);
  auto v = txn->get(peers_, key, "reading peer " + name_of(id));
  if (!v) return Err(v.error());
  if (!*v) return Err(Errc::kNotFound, "peer " + name_of(id) + " is not in the peer database");
  return codec::decode_peer(key, **v);
}

Result<Listing<Peer>> PeerDb::list_peers() {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  auto cur = lmdb::Cursor::open(*txn, peers_);
  if (!cur) return Err(cur.error());
  Listing<Peer> out;
  for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
    auto p = codec::decode_peer(cur->key(), cur->value());
    if (p) {
      out.items.push_back(std::move(*p));
    } else {
      out.errors.push_back(p.error());
    }
  }
  return out;
}

Result<void> PeerDb::erase_peer(const PartialId& id) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  const Bytes key = codec::peer_key(id);
  QC_TRY(txn->del(peers_, key, "erasing peer " + name_of(id)));
  auto routes = keys_with_prefix(*txn, routes_, key);
  if (!routes) return Err(routes.error());
  for (const auto& k : *routes) QC_TRY(txn->del(routes_, k, "erasing routes"));
  return txn->commit("erasing peer " + name_of(id));
}

// ---- events ----

Result<std::uint64_t> PeerDb::record_event(const Event& e) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  auto seq = append_event_in(*txn, e);
  if (!seq) return seq;
  QC_TRY(txn->commit("recording an event"));
  return seq;
}

Result<std::uint64_t> PeerDb::append_event_in(lmdb::Txn& txn, const Event& e) {
  Event stored = e;
  auto next = txn.get(meta_, as_bytes(codec::kNextSeqKey), "reading the event sequence");
  if (!next) return Err(next.error());
  stored.seq = (*next && (*next)->size() == 8) ? codec::get_u64be((*next)->data()) : 1;
  {
    // Never reuse a sequence number, even if the counter was lost: start after the newest event.
    auto cur = lmdb::Cursor::open(txn, events_);
    if (!cur) return Err(cur.error());
    if (cur->move(MDB_LAST) && cur->key().size() == 8) {
      stored.seq = std::max(stored.seq, codec::get_u64be(cur->key().data()) + 1);
    }
  }
  auto value = codec::encode_event(stored);
  if (!value) return Err(value.error());
  QC_TRY(txn.put(events_, codec::event_key(stored.seq), *value, "recording an event"));
  Bytes seq;
  codec::put_u64be(seq, stored.seq + 1);
  QC_TRY(txn.put(meta_, as_bytes(codec::kNextSeqKey), seq, "recording an event"));

  auto n = txn.entries(events_);
  if (!n) return Err(n.error());
  if (*n > options_.max_events) {
    std::size_t excess = *n - options_.max_events;
    std::vector<Bytes> drop;
    auto cur = lmdb::Cursor::open(txn, events_);
    if (!cur) return Err(cur.error());
    for (bool ok = cur->move(MDB_FIRST); ok && drop.size() < excess; ok = cur->move(MDB_NEXT)) {
      drop.emplace_back(cur->key().begin(), cur->key().end());
    }
    for (const auto& k : drop) QC_TRY(txn.del(events_, k, "dropping old events"));
  }
  return stored.seq;
}

Result<void> PeerDb::apply(const Batch& batch) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  for (const auto& u : batch.peers) {
    auto p = upsert_in(*txn, u);
    if (!p) return Err(p.error());
  }
  for (const auto& e : batch.events) {
    auto seq = append_event_in(*txn, e);
    if (!seq) return Err(seq.error());
  }
  return txn->commit("writing a batch");
}

Result<Listing<Event>> PeerDb::events(std::uint64_t after_seq, std::size_t limit) {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  auto cur = lmdb::Cursor::open(*txn, events_);
  if (!cur) return Err(cur.error());
  Listing<Event> out;
  if (after_seq == UINT64_MAX) return out;
  const Bytes start = codec::event_key(after_seq + 1);
  for (bool ok = cur->move(MDB_SET_RANGE, start);
       ok && out.items.size() + out.errors.size() < limit; ok = cur->move(MDB_NEXT)) {
    auto e = codec::decode_event(cur->key(), cur->value());
    if (e) {
      out.items.push_back(std::move(*e));
    } else {
      out.errors.push_back(e.error());
    }
  }
  return out;
}

// ---- routes ----

Result<CachedRoute> PeerDb::put_route(const CachedRoute& r) {
  CachedRoute s = r;
  s.route_id = fnv1a64(r.route);
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  const Bytes key = codec::route_key(s.destination, s.route_id);
  const std::string what = "caching a route to " + name_of(s.destination);
  auto stored = txn->get(routes_, key, what);
  if (!stored) return Err(stored.error());
  bool exists = false;
  if (*stored) {
    auto old = codec::decode_route(key, **stored);
    if (old) {
      s.created_ms = std::min(s.created_ms, old->created_ms);
      s.last_used_ms = std::max(s.last_used_ms, old->last_used_ms);
    }
    exists = true;
  }
  auto value = codec::encode_route(s);
  if (!value) return Err(value.error());
  if (!exists) {
    // Make room: drop the least recently used routes to this destination (corrupt ones first).
    auto cur = lmdb::Cursor::open(*txn, routes_);
    if (!cur) return Err(cur.error());
    const Bytes prefix = codec::peer_key(s.destination);
    std::vector<std::pair<UnixMs, Bytes>> have;
    for (bool ok = cur->move(MDB_SET_RANGE, prefix); ok && has_prefix(cur->key(), prefix);
         ok = cur->move(MDB_NEXT)) {
      auto old = codec::decode_route(cur->key(), cur->value());
      have.emplace_back(old ? route_age_ms(*old) : 0, Bytes(cur->key().begin(), cur->key().end()));
    }
    std::sort(have.begin(), have.end());
    for (std::size_t i = 0; have.size() - i >= options_.max_routes_per_destination; ++i) {
      QC_TRY(txn->del(routes_, have[i].second, what));
    }
  }
  QC_TRY(txn->put(routes_, key, *value, what));
  QC_TRY(txn->commit(what));
  return s;
}

Result<Listing<CachedRoute>> PeerDb::routes_to(const PartialId& dest) {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  auto cur = lmdb::Cursor::open(*txn, routes_);
  if (!cur) return Err(cur.error());
  Listing<CachedRoute> out;
  const Bytes prefix = codec::peer_key(dest);
  for (bool ok = cur->move(MDB_SET_RANGE, prefix); ok && has_prefix(cur->key(), prefix);
       ok = cur->move(MDB_NEXT)) {
    auto r = codec::decode_route(cur->key(), cur->value());
    if (r) {
      out.items.push_back(std::move(*r));
    } else {
      out.errors.push_back(r.error());
    }
  }
  std::stable_sort(
      out.items.begin(), out.items.end(),
      [](const CachedRoute& a, const CachedRoute& b) { return route_age_ms(a) > route_age_ms(b); });
  return out;
}

Result<Listing<CachedRoute>> PeerDb::list_routes() {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  auto cur = lmdb::Cursor::open(*txn, routes_);
  if (!cur) return Err(cur.error());
  Listing<CachedRoute> out;
  for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
    auto r = codec::decode_route(cur->key(), cur->value());
    if (r) {
      out.items.push_back(std::move(*r));
    } else {
      out.errors.push_back(r.error());
    }
  }
  return out;
}

Result<void> PeerDb::touch_route(const PartialId& dest, std::uint64_t route_id, UnixMs now_ms) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  const Bytes key = codec::route_key(dest, route_id);
  const std::string what = "updating a route to " + name_of(dest);
  auto stored = txn->get(routes_, key, what);
  if (!stored) return Err(stored.error());
  if (!*stored) return Err(Errc::kNotFound, "no such cached route to " + name_of(dest));
  auto r = codec::decode_route(key, **stored);
  if (!r) return Err(r.error());
  r->last_used_ms = std::max(r->last_used_ms, now_ms);
  auto value = codec::encode_route(*r);
  if (!value) return Err(value.error());
  QC_TRY(txn->put(routes_, key, *value, what));
  return txn->commit(what);
}

Result<void> PeerDb::erase_route(const PartialId& dest, std::uint64_t route_id) {
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());
  QC_TRY(txn->del(routes_, codec::route_key(dest, route_id), "erasing a route"));
  return txn->commit("erasing a route");
}

// ---- maintenance ----

Result<SweepStats> PeerDb::sweep(UnixMs now_ms, UnixMs max_age_ms) {
  const UnixMs cutoff = now_ms > max_age_ms ? now_ms - max_age_ms : 0;
  SweepStats st;
  auto txn = lmdb::Txn::begin(env_, true);
  if (!txn) return Err(txn.error());

  std::vector<Bytes> drop;
  std::vector<std::pair<Bytes, Bytes>> rewrite;
  {
    auto cur = lmdb::Cursor::open(*txn, peers_);
    if (!cur) return Err(cur.error());
    for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
      Bytes key(cur->key().begin(), cur->key().end());
      auto p = codec::decode_peer(cur->key(), cur->value());
      if (!p) {
        ++st.corrupt;
        drop.push_back(std::move(key));
        continue;
      }
      if (p->last_activity_ms() < cutoff) {
        ++st.peers;
        drop.push_back(std::move(key));
        continue;
      }
      auto before = p->addresses.size();
      std::erase_if(p->addresses, [&](const PeerAddress& a) {
        return a.kind != AddressKind::kStatic && a.last_seen_ms < cutoff;
      });
      if (p->addresses.size() != before) {
        st.addresses += before - p->addresses.size();
        auto v = codec::encode_peer(*p);
        if (!v) return Err(v.error());
        rewrite.emplace_back(std::move(key), std::move(*v));
      }
    }
  }
  for (const auto& k : drop) QC_TRY(txn->del(peers_, k, "sweeping peers"));
  for (const auto& [k, v] : rewrite) QC_TRY(txn->put(peers_, k, v, "sweeping addresses"));

  drop.clear();
  {
    auto cur = lmdb::Cursor::open(*txn, routes_);
    if (!cur) return Err(cur.error());
    for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
      auto r = codec::decode_route(cur->key(), cur->value());
      if (!r) {
        ++st.corrupt;
      } else if (route_age_ms(*r) < cutoff) {
        ++st.routes;
      } else {
        continue;
      }
      drop.emplace_back(cur->key().begin(), cur->key().end());
    }
  }
  for (const auto& k : drop) QC_TRY(txn->del(routes_, k, "sweeping routes"));

  drop.clear();
  {
    auto cur = lmdb::Cursor::open(*txn, events_);
    if (!cur) return Err(cur.error());
    for (bool ok = cur->move(MDB_FIRST); ok; ok = cur->move(MDB_NEXT)) {
      if (!codec::decode_event(cur->key(), cur->value())) {
        ++st.corrupt;
        drop.emplace_back(cur->key().begin(), cur->key().end());
      }
    }
  }
  for (const auto& k : drop) QC_TRY(txn->del(events_, k, "sweeping events"));

  QC_TRY(txn->commit("sweeping"));
  return st;
}

Result<Counts> PeerDb::counts() {
  auto txn = lmdb::Txn::begin(env_, false);
  if (!txn) return Err(txn.error());
  Counts c;
  auto p = txn->entries(peers_);
  if (!p) return Err(p.error());
  auto e = txn->entries(events_);
  if (!e) return Err(e.error());
  auto r = txn->entries(routes_);
  if (!r) return Err(r.error());
  c.peers = *p;
  c.events = *e;
  c.routes = *r;
  return c;
}

}  // namespace qc::peerdb
