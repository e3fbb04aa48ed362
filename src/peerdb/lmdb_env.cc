#include "peerdb/lmdb_env.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace qc::peerdb::lmdb {

Error error_of(int rc, const std::string& what, const std::string& dir, std::size_t map_size) {
  const std::string where = "peer database " + dir + ": " + what + ": ";
  const std::string detail = mdb_strerror(rc);
  switch (rc) {
    case MDB_MAP_FULL:
      return Error{Errc::kLimit,
                   where + "the database is full (map size " +
                       std::to_string(map_size / (1024 * 1024)) +
                       " MiB); nothing was written and earlier data is intact. Raise the peer "
                       "database map size, or lower max_peers/max_events, and restart"};
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
      return Error{Errc::kLimit, where + detail + "; restart the node"};
    case MDB_CORRUPTED:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_PAGE_NOTFOUND:
      return Error{Errc::kParse, where + detail +
                                     ". The files are not a usable LMDB database: " + "move " +
                                     dir + " aside and the node starts with an empty one"};
    case MDB_PANIC:
      return Error{Errc::kIo,
                   where + detail +
                       ". This handle is unusable after a failed write; restart the node "
                       "(the files keep their last committed state)"};
    case EACCES:
    case EPERM:
      return Error{Errc::kIo, where + detail + ". Make " + dir +
                                  " readable and writable by the user running the node, or set "
                                  "data_dir to a directory it owns"};
    case ENOSPC:
    case EDQUOT:
      return Error{Errc::kIo, where + detail + ". Free space on the file system of " + dir +
                                  "; the last committed state is intact"};
    case EROFS:
      return Error{Errc::kIo, where + detail + ". Set data_dir to a writable file system"};
    case ENOTDIR:
    case ENOENT:
      return Error{Errc::kIo, where + detail + ". Check data_dir: " + dir +
                                  " must be a directory (it is created if missing)"};
    default:
      return Error{Errc::kIo, where + detail};
  }
}

Result<Env> Env::open(const std::string& dir, std::size_t map_size, unsigned max_dbs) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Err(error_of(ec.value(), "creating the directory", dir, map_size));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);  // best effort
  Env e;
  e.dir_ = dir;
  e.map_size_ = map_size;
  int rc = mdb_env_create(&e.env_);
  if (rc != 0) return Err(e.error(rc, "creating the environment"));
  rc = mdb_env_set_maxdbs(e.env_, max_dbs);
  if (rc == 0) rc = mdb_env_set_mapsize(e.env_, map_size);
  if (rc != 0) return Err(e.error(rc, "configuring the environment"));
  rc = mdb_env_open(e.env_, dir.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) return Err(e.error(rc, "opening"));
  MDB_envinfo info{};
  if (mdb_env_info(e.env_, &info) == 0) e.map_size_ = info.me_mapsize;
  int dead = 0;
  mdb_reader_check(e.env_, &dead);  // slots of killed processes; failure is harmless
  return e;
}

Env::Env(Env&& o) noexcept
    : env_(std::exchange(o.env_, nullptr)), dir_(std::move(o.dir_)), map_size_(o.map_size_) {}

Env& Env::operator=(Env&& o) noexcept {
  if (this != &o) {
    if (env_) mdb_env_close(env_);
    env_ = std::exchange(o.env_, nullptr);
    dir_ = std::move(o.dir_);
    map_size_ = o.map_size_;
  }
  return *this;
}

Env::~Env() {
  if (env_) mdb_env_close(env_);
}

Result<Txn> Txn::begin(const Env& env, bool write) {
  MDB_txn* t = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &t);
  if (rc != 0) return Err(env.error(rc, write ? "starting a write" : "starting a read"));
  return Txn(&env, t);
}

Result<void> Txn::commit(const std::string& what) {
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // freed by mdb_txn_commit whatever it returns
  if (rc != 0) return Err(env_->error(rc, what));
  return Ok();
}

Result<std::optional<ByteView>> Txn::get(MDB_dbi dbi, ByteView key, const std::string& what) {
  MDB_val k = val(key), v{};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<ByteView>();
  if (rc != 0) return Err(env_->error(rc, what));
  return std::optional<ByteView>(view(v));
}

Result<void> Txn::put(MDB_dbi dbi, ByteView key, ByteView value, const std::string& what) {
  MDB_val k = val(key), v = val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, 0);
  if (rc != 0) return Err(env_->error(rc, what));
  return Ok();
}

Result<void> Txn::del(MDB_dbi dbi, ByteView key, const std::string& what) {
  MDB_val k = val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return Err(env_->error(rc, what));
  return Ok();
}

Result<std::size_t> Txn::entries(MDB_dbi dbi) {
  MDB_stat st{};
  int rc = mdb_stat(txn_, dbi, &st);
  if (rc != 0) return Err(env_->error(rc, "counting entries"));
  return static_cast<std::size_t>(st.ms_entries);
}

Result<Cursor> Cursor::open(Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &c);
  if (rc != 0) return Err(Errc::kIo, std::string("opening a cursor: ") + mdb_strerror(rc));
  return Cursor(c);
}

bool Cursor::move(MDB_cursor_op op, ByteView key) {
  if (op == MDB_SET_RANGE) k_ = val(key);
  rc_ = mdb_cursor_get(c_, &k_, &v_, op);
  return rc_ == 0;
}

}  // namespace qc::peerdb::lmdb
