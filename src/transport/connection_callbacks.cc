#include "transport/connection_callbacks.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>

#include "common/log.h"

namespace qc::transport {

namespace {
std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("transport");
  return l;
}

void rand_cb(uint8_t* dest, size_t destlen, const ngtcp2_rand_ctx*) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, destlen);
}

}  // namespace

void ConnectionCallbacks::install(ngtcp2_callbacks& cb, bool server) {
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.rand = rand_cb;
  cb.get_new_connection_id = &get_new_connection_id;
  cb.remove_connection_id = &remove_connection_id;
  cb.handshake_completed = &handshake_completed;
  cb.handshake_confirmed = &handshake_confirmed;
  cb.recv_stream_data = &recv_stream_data;
  cb.stream_open = &stream_open;
  cb.acked_stream_data_offset = &acked_stream_data_offset;
  cb.extend_max_stream_data = &extend_max_stream_data;
  cb.stream_close = &stream_close;
  cb.stream_reset = &stream_reset;
  cb.stream_stop_sending = &stream_stop_sending;
  cb.extend_max_local_streams_bidi = &extend_max_local_streams_bidi;
  cb.recv_datagram = &recv_datagram;
  cb.ack_datagram = &ack_datagram;
  cb.lost_datagram = &lost_datagram;
  cb.path_validation = &path_validation;
  cb.recv_stateless_reset = &recv_stateless_reset;
}

ngtcp2_conn* ConnectionCallbacks::get_conn(ngtcp2_crypto_conn_ref* ref) {
  return self(ref->user_data)->impl_->conn;
}

int ConnectionCallbacks::verify(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  return self(ref->user_data)->verify_peer() ? 0 : -1;
}

int ConnectionCallbacks::get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token,
                                               size_t cidlen, void* ud) {
  if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, cidlen) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  cid->datalen = cidlen;
  Connection* c = self(ud);
  if (!reset_token(c->settings_, *cid, token)) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (c->registry_ != nullptr) c->registry_->on_cid_issued(c->registry_tag_, {cid->data, cidlen});
  return 0;
}

int ConnectionCallbacks::remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* ud) {
  Connection* c = self(ud);
  if (c->registry_ != nullptr) {
    c->registry_->on_cid_retired(c->registry_tag_, {cid->data, cid->datalen});
  }
  return 0;
}

bool ConnectionCallbacks::reset_token(const ConnectionSettings& s, const ngtcp2_cid& cid,
                                      uint8_t* token) {
  if (s.reset_secret) {
    return ngtcp2_crypto_generate_stateless_reset_token(token, s.reset_secret->data(),
                                                        s.reset_secret->size(), &cid) == 0;
  }
  return gnutls_rnd(GNUTLS_RND_RANDOM, token, NGTCP2_STATELESS_RESET_TOKENLEN) == 0;
}

int ConnectionCallbacks::recv_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*,
                                              void* ud) {
  self(ud)->got_stateless_reset_ = true;
  return 0;
}

int ConnectionCallbacks::handshake_completed(ngtcp2_conn*, void* ud) {
  Connection* c = self(ud);
  c->completed_ = true;
  // A server's handshake completes only after the client's certificate was verified, and
  // the server's handshake is confirmed at completion (RFC 9001 4.1.2).
  if (c->settings_.role == Role::kServer) confirm(c);
  return 0;
}

int ConnectionCallbacks::handshake_confirmed(ngtcp2_conn*, void* ud) {
  confirm(self(ud));
  return 0;
}

void ConnectionCallbacks::confirm(Connection* c) {
  if (c->confirmed_ || c->state_ != Connection::State::kHandshake) return;
  c->confirmed_ = true;
  c->state_ = Connection::State::kOpen;
  c->check_path_mtu();
  if (c->observer_ != nullptr) c->observer_->on_handshake_confirmed(c->peer_);
}

int ConnectionCallbacks::recv_stream_data(ngtcp2_conn* conn, uint32_t flags, int64_t stream_id,
                                          uint64_t, const uint8_t* data, size_t datalen, void* ud,
                                          void*) {
  Connection* c = self(ud);
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  if (c->observer_ != nullptr && c->state_ != Connection::State::kClosed) {
    c->observer_->on_stream_data(stream_id, ByteView(data, datalen), fin);
  }
  if (!c->settings_.manual_stream_credit) {
    ngtcp2_conn_extend_max_stream_offset(conn, stream_id, datalen);
    ngtcp2_conn_extend_max_offset(conn, datalen);
  }
  return 0;
}

int ConnectionCallbacks::stream_open(ngtcp2_conn*, int64_t stream_id, void* ud) {
  Connection* c = self(ud);
  c->ensure_stream(stream_id);
  if (c->observer_ != nullptr) c->observer_->on_stream_opened(stream_id);
  return 0;
}

int ConnectionCallbacks::acked_stream_data_offset(ngtcp2_conn*, int64_t stream_id, uint64_t offset,
                                                  uint64_t datalen, void* ud, void*) {
  Connection* c = self(ud);
  Connection::Stream* s = c->stream(stream_id);
  if (s == nullptr) return 0;
  s->send.ack_to(offset + datalen);
  if (s->want_writable && s->send.room() >= s->send.limit() / 4) {
    s->want_writable = false;
    if (c->observer_ != nullptr) c->observer_->on_stream_writable(stream_id);
  }
  return 0;
}

int ConnectionCallbacks::extend_max_stream_data(ngtcp2_conn*, int64_t stream_id, uint64_t, void* ud,
                                                void*) {
  Connection* c = self(ud);
  if (Connection::Stream* s = c->stream(stream_id)) s->blocked = false;
  return 0;
}

int ConnectionCallbacks::stream_close(ngtcp2_conn*, uint32_t, int64_t stream_id,
                                      uint64_t app_error_code, void* ud, void*) {
  Connection* c = self(ud);
  auto it = c->streams_.find(stream_id);
  if (it != c->streams_.end()) {
    c->active_.erase(std::remove(c->active_.begin(), c->active_.end(), stream_id),
                     c->active_.end());
    c->streams_.erase(it);
  }
  if (c->observer_ != nullptr) c->observer_->on_stream_closed(stream_id, app_error_code);
  return 0;
}

int ConnectionCallbacks::stream_reset(ngtcp2_conn*, int64_t stream_id, uint64_t,
                                      uint64_t app_error_code, void* ud, void*) {
  Connection* c = self(ud);
  if (c->observer_ != nullptr) c->observer_->on_stream_reset(stream_id, app_error_code);
  return 0;
}

int ConnectionCallbacks::stream_stop_sending(ngtcp2_conn*, int64_t stream_id, uint64_t, void* ud,
                                             void*) {
  Connection* c = self(ud);
  if (Connection::Stream* s = c->stream(stream_id)) s->write_closed = true;
  return 0;
}

int ConnectionCallbacks::extend_max_local_streams_bidi(ngtcp2_conn*, uint64_t, void* ud) {
  Connection* c = self(ud);
  if (c->observer_ != nullptr && c->confirmed_) c->observer_->on_streams_available();
  return 0;
}

int ConnectionCallbacks::recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t datalen,
                                       void* ud) {
  Connection* c = self(ud);
  ++c->counters_.datagrams_received;
  if (c->observer_ != nullptr && c->state_ != Connection::State::kClosed) {
    c->observer_->on_datagram(ByteView(data, datalen));
  }
  return 0;
}

int ConnectionCallbacks::ack_datagram(ngtcp2_conn*, uint64_t id, void* ud) {
  Connection* c = self(ud);
  if (c->observer_ != nullptr) c->observer_->on_datagram_acked(id);
  return 0;
}

int ConnectionCallbacks::lost_datagram(ngtcp2_conn*, uint64_t id, void* ud) {
  Connection* c = self(ud);
  if (c->observer_ != nullptr) c->observer_->on_datagram_lost(id);
  return 0;
}

int ConnectionCallbacks::path_validation(ngtcp2_conn*, uint32_t, const ngtcp2_path* path,
                                         ngtcp2_path_validation_result res, void*) {
  logger()->debug("path validation to {}: {}",
                  Address(path->remote.addr, path->remote.addrlen).to_string(),
                  res == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS ? "ok" : "failed");
  return 0;
}

}  // namespace qc::transport
