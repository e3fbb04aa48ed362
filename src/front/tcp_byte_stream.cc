#include "front/tcp_byte_stream.h"

#include <asio/post.hpp>
#include <asio/write.hpp>

#include <algorithm>

namespace qc::front {

struct TcpByteStream::State : std::enable_shared_from_this<TcpByteStream::State> {
  State(asio::ip::tcp::socket sock, TcpByteStreamOptions opts, Bytes early)
      : socket(std::move(sock)), options(opts), held(std::move(early)) {}

  asio::ip::tcp::socket socket;
  TcpByteStreamOptions options;
  ByteStream::Handler* handler = nullptr;

  // Read side: `held[held_off..]` was read and not yet taken by the handler.
  Bytes held;
  std::size_t held_off = 0;
  bool paused = false;   // the handler took less than offered
  bool reading = false;  // an async_read_some is pending
  bool eof = false;      // the peer's FIN arrived
  bool fin_delivered = false;
  bool delivery_posted = false;

  // Write side: `inflight` is being written; `pending` waits for the next write.
  Bytes inflight;
  Bytes pending;
  bool writing = false;
  bool want_writable = false;
  bool shutdown_requested = false;
  bool shutdown_done = false;

  bool closed = false;  // on_closed delivered, or reset/destroyed: no more callbacks

  std::size_t buffered() const {
    return inflight.size() + pending.size() + (reading ? 0 : held.size() - held_off);
  }

  void fail(const std::error_code& ec) {
    if (closed) return;
    closed = true;
    std::error_code ignored;
    socket.close(ignored);
    if (handler != nullptr) handler->on_closed(Err(Errc::kIo, "tcp: " + ec.message()));
  }

  void maybe_close() {
    if (closed || !fin_delivered || !shutdown_done) return;
    closed = true;
    std::error_code ignored;
    socket.close(ignored);
    if (handler != nullptr) handler->on_closed(Ok());
  }

  void post_delivery() {
    if (delivery_posted) return;
    delivery_posted = true;
    asio::post(socket.get_executor(), [self = shared_from_this()] {
      self->delivery_posted = false;
      self->deliver();
    });
  }

  // Offers held data, then FIN, then reads more. Runs from the event loop only.
  void deliver() {
    if (closed || handler == nullptr) return;
    auto self = shared_from_this();
    if (!paused && held_off < held.size()) {
      ByteView view(held.data() + held_off, held.size() - held_off);
      std::size_t took = std::min(view.size(), handler->on_data(view));
      if (closed) return;
      held_off += took;
      if (held_off < held.size()) paused = true;
    }
    if (held_off < held.size()) return;  // paused until resume_reading()
    held.clear();
    held_off = 0;
    if (handler == nullptr) return;  // detached inside on_data; the next set_handler delivers
    if (eof) {
      if (!fin_delivered) {
        fin_delivered = true;
        handler->on_fin();
        if (closed) return;
      }
      maybe_close();
      return;
    }
    start_read();
  }

  void start_read() {
    if (reading || closed || eof) return;
    reading = true;
    held.resize(options.read_chunk);
    socket.async_read_some(asio::buffer(held),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                             self->reading = false;
                             if (self->closed) return;
                             if (ec == asio::error::eof) {
                               self->held.clear();
                               self->eof = true;
                             } else if (ec) {
                               self->held.clear();
                               return self->fail(ec);
                             } else {
                               self->held.resize(n);
                             }
                             self->held_off = 0;
                             self->deliver();
                           });
  }

  void start_write() {
    if (writing || closed) return;
    if (pending.empty()) {
      if (shutdown_requested && !shutdown_done) {
        std::error_code ec;
        socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
        if (ec) return fail(ec);
        shutdown_done = true;
        maybe_close();
      }
      return;
    }
    writing = true;
    inflight.swap(pending);
    asio::async_write(socket, asio::buffer(inflight),
                      [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                        self->writing = false;
                        if (self->closed) return;
                        if (ec) return self->fail(ec);
                        self->inflight.clear();
                        if (self->want_writable && self->handler != nullptr) {
                          self->want_writable = false;
                          self->handler->on_writable();
                          if (self->closed) return;
                        }
                        self->start_write();
                      });
  }
};

TcpByteStream::TcpByteStream(asio::ip::tcp::socket socket, TcpByteStreamOptions options,
                             Bytes already_read)
    : s_(std::make_shared<State>(std::move(socket), options, std::move(already_read))) {
  s_->options.read_chunk = std::max<std::size_t>(s_->options.read_chunk, 1);
  s_->options.write_limit = std::max<std::size_t>(s_->options.write_limit, 1);
}

TcpByteStream::~TcpByteStream() {
  if (!s_->closed) reset();
  s_->handler = nullptr;
}

void TcpByteStream::set_handler(Handler* handler) {
  s_->handler = handler;
  if (handler != nullptr) s_->post_delivery();
}

std::size_t TcpByteStream::write(ByteView data) {
  State& s = *s_;
  if (s.closed || s.shutdown_requested) return 0;
  std::size_t used = s.inflight.size() + s.pending.size();
  std::size_t room = s.options.write_limit - std::min(s.options.write_limit, used);
  std::size_t n = std::min(room, data.size());
  s.pending.insert(s.pending.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
  if (n < data.size()) s.want_writable = true;
  if (n > 0) {
    // Start on the next turn of the loop: no callback may run inside write().
    asio::post(s.socket.get_executor(), [self = s_] { self->start_write(); });
  }
  return n;
}

void TcpByteStream::shutdown_write() {
  if (s_->closed || s_->shutdown_requested) return;
  s_->shutdown_requested = true;
  asio::post(s_->socket.get_executor(), [self = s_] { self->start_write(); });
}

void TcpByteStream::resume_reading() {
  if (!s_->paused) return;
  s_->paused = false;
  s_->post_delivery();
}

void TcpByteStream::reset() {
  State& s = *s_;
  if (s.closed) return;
  s.closed = true;
  std::error_code ignored;
  if (s.socket.is_open()) {
    s.socket.set_option(asio::socket_base::linger(true, 0), ignored);
    s.socket.close(ignored);
  }
  s.pending.clear();
}

std::size_t TcpByteStream::buffered() const {
  return s_->buffered();
}

}  // namespace qc::front
