// Internal to the transport library (not installed API): the ngtcp2/GnuTLS handles of a
// Connection and ngtcp2's C callbacks, which find their Connection through user_data.
//
// Threading rule: as Connection (callbacks run inside its methods).
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <cstdint>

#include "transport/connection.h"

namespace qc::transport {

// ngtcp2 and GnuTLS handles.
struct Connection::Impl {
  ngtcp2_conn* conn = nullptr;
  gnutls_session_t session = nullptr;
  ngtcp2_crypto_conn_ref conn_ref{};
  ~Impl() {
    if (conn != nullptr) ngtcp2_conn_del(conn);
    if (session != nullptr) gnutls_deinit(session);
  }
};

// The callbacks are members so that they may use Connection's private state (friend).
struct ConnectionCallbacks {
  // Sets every callback of `cb` for a client or server connection.
  static void install(ngtcp2_callbacks& cb, bool server);
  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);
  // GnuTLS certificate check (gnutls_session_set_verify_function).
  static int verify(gnutls_session_t session);
  // The stateless reset token for `cid`: derived from the reset secret, or random.
  static bool reset_token(const ConnectionSettings& s, const ngtcp2_cid& cid, uint8_t* token);

 private:
  static Connection* self(void* ud) { return static_cast<Connection*>(ud); }
  static void confirm(Connection* c);
  static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen,
                                   void* ud);
  static int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* ud);
  static int recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* ud);
  static int handshake_completed(ngtcp2_conn*, void* ud);
  static int handshake_confirmed(ngtcp2_conn*, void* ud);
  static int recv_stream_data(ngtcp2_conn* conn, uint32_t flags, int64_t stream_id, uint64_t,
                              const uint8_t* data, size_t datalen, void* ud, void*);
  static int stream_open(ngtcp2_conn*, int64_t stream_id, void* ud);
  static int acked_stream_data_offset(ngtcp2_conn*, int64_t stream_id, uint64_t offset,
                                      uint64_t datalen, void* ud, void*);
  static int extend_max_stream_data(ngtcp2_conn*, int64_t stream_id, uint64_t, void* ud, void*);
  static int stream_close(ngtcp2_conn*, uint32_t, int64_t stream_id, uint64_t app_error_code,
                          void* ud, void*);
  static int stream_reset(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t app_error_code,
                          void* ud, void*);
  static int stream_stop_sending(ngtcp2_conn*, int64_t stream_id, uint64_t, void* ud, void*);
  static int extend_max_local_streams_bidi(ngtcp2_conn*, uint64_t, void* ud);
  static int recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t datalen, void* ud);
  static int ack_datagram(ngtcp2_conn*, uint64_t id, void* ud);
  static int lost_datagram(ngtcp2_conn*, uint64_t id, void* ud);
  static int path_validation(ngtcp2_conn*, uint32_t, const ngtcp2_path* path,
                             ngtcp2_path_validation_result res, void*);
};

}  // namespace qc::transport
