// Thin RAII over liblmdb (internal to src/peerdb): an environment, transactions that abort unless
// committed, and the mapping of LMDB and errno codes to qc::Error with "what to do" text.
//
// Threading: an Env and its transactions belong to one thread at a time (the environment is
// opened with MDB_NOTLS, so a read transaction is not tied to the thread that began it).
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/result.h"

namespace qc::peerdb::lmdb {

// Maps an LMDB return code (or errno) to an Error. `what` says what was being done; `dir` names
// the database directory in the message.
Error error_of(int rc, const std::string& what, const std::string& dir, std::size_t map_size);

inline MDB_val val(ByteView b) {
  return MDB_val{b.size(), const_cast<std::uint8_t*>(b.data())};
}
inline ByteView view(const MDB_val& v) {
  return {static_cast<const std::uint8_t*>(v.mv_data), v.mv_size};
}

class Env {
 public:
  // Creates `dir` (mode 0700) if missing and opens the environment in it with `max_dbs` named
  // databases and a map of `map_size` bytes (raised by LMDB to the size already in use). Stale
  // reader slots of processes that died are cleared.
  static Result<Env> open(const std::string& dir, std::size_t map_size, unsigned max_dbs);

  Env() = default;
  Env(Env&& o) noexcept;
  Env& operator=(Env&& o) noexcept;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env();

  MDB_env* get() const { return env_; }
  const std::string& dir() const { return dir_; }
  std::size_t map_size() const { return map_size_; }
  Error error(int rc, const std::string& what) const { return error_of(rc, what, dir_, map_size_); }

 private:
  MDB_env* env_ = nullptr;
  std::string dir_;
  std::size_t map_size_ = 0;
};

// A transaction; aborted on destruction unless commit() succeeded.
class Txn {
 public:
  static Result<Txn> begin(const Env& env, bool write);
  Txn(Txn&& o) noexcept : env_(o.env_), txn_(o.txn_) { o.txn_ = nullptr; }
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Txn& operator=(Txn&&) = delete;
  ~Txn() { abort(); }

  MDB_txn* get() const { return txn_; }
  Result<void> commit(const std::string& what);
  void abort() {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

  // Returns the value (valid until the transaction ends), nullopt when absent.
  Result<std::optional<ByteView>> get(MDB_dbi dbi, ByteView key, const std::string& what);
  Result<void> put(MDB_dbi dbi, ByteView key, ByteView value, const std::string& what);
  // Absent keys are not an error.
  Result<void> del(MDB_dbi dbi, ByteView key, const std::string& what);
  Result<std::size_t> entries(MDB_dbi dbi);

 private:
  Txn(const Env* env, MDB_txn* t) : env_(env), txn_(t) {}
  const Env* env_;
  MDB_txn* txn_;
};

// A cursor over one database inside a transaction; closed on destruction.
class Cursor {
 public:
  static Result<Cursor> open(Txn& txn, MDB_dbi dbi);
  Cursor(Cursor&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  Cursor& operator=(Cursor&&) = delete;
  ~Cursor() {
    if (c_) mdb_cursor_close(c_);
  }
  // Positions on `op` (MDB_FIRST, MDB_NEXT, MDB_SET_RANGE with `key`); false at the end.
  bool move(MDB_cursor_op op, ByteView key = {});
  ByteView key() const { return view(k_); }
  ByteView value() const { return view(v_); }
  int last_rc() const { return rc_; }

 private:
  explicit Cursor(MDB_cursor* c) : c_(c) {}
  MDB_cursor* c_;
  MDB_val k_{}, v_{};
  int rc_ = 0;
};

}  // namespace qc::peerdb::lmdb
