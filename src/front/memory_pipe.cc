#include "front/memory_pipe.h"

#include <asio/post.hpp>

#include <algorithm>

namespace qc::front {
namespace {

class End;

// Bytes flowing into one end.
struct Direction {
  Bytes queue;                  // accepted by the writer, not yet taken by the reader
  bool fin = false;             // the writer shut down its side
  bool fin_delivered = false;   // the reader saw on_fin()
  bool reader_paused = false;   // the reader took less than offered; waits for resume_reading()
  bool writer_waiting = false;  // a write() was short; the writer wants on_writable()
};

struct Shared {
  Shared(asio::io_context& io_context, std::size_t cap) : io(io_context), capacity(cap) {}
  asio::io_context& io;
  std::size_t capacity;
  Direction into[2];
  End* ends[2] = {nullptr, nullptr};
  bool reset = false;
};

class End final : public ByteStream {
 public:
  End(std::shared_ptr<Shared> shared, int me) : s_(std::move(shared)), me_(me) {
    s_->ends[me_] = this;
  }
  ~End() override {
    s_->ends[me_] = nullptr;
    if (!closed_) abort();
  }

  void set_handler(Handler* handler) override {
    handler_ = handler;
    schedule(me_);
  }

  std::size_t write(ByteView data) override {
    if (closed_ || shut_ || s_->reset) return 0;
    Direction& out = s_->into[peer()];
    std::size_t room = s_->capacity - std::min(s_->capacity, out.queue.size());
    std::size_t n = std::min(room, data.size());
    out.queue.insert(out.queue.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(n));
    if (n < data.size()) out.writer_waiting = true;
    if (n > 0) schedule(peer());
    return n;
  }

  void shutdown_write() override {
    if (closed_ || shut_) return;
    shut_ = true;
    s_->into[peer()].fin = true;
    schedule(peer());
  }

  void resume_reading() override {
    s_->into[me_].reader_paused = false;
    schedule(me_);
  }

  void reset() override {
    if (closed_) return;
    abort();
  }

  std::size_t buffered() const override { return s_->into[peer()].queue.size(); }

 private:
  int peer() const { return 1 - me_; }

  void abort() {
    closed_ = true;
    s_->reset = true;
    s_->into[0].queue.clear();
    s_->into[1].queue.clear();
    schedule(peer());
  }

  void schedule(int who) {
    End* e = s_->ends[who];
    if (e == nullptr || e->scheduled_) return;
    e->scheduled_ = true;
    asio::post(s_->io, [s = s_, who] {
      End* target = s->ends[who];
      if (target == nullptr) return;
      target->scheduled_ = false;
      target->pump();
    });
  }

  // True while this end still exists and may get callbacks (a callback may destroy it).
  // A callback may also detach the handler (set_handler(nullptr)): then delivery stops.
  static bool alive(const std::shared_ptr<Shared>& s, int who, const End* self) {
    return s->ends[who] == self && !self->closed_ && self->handler_ != nullptr;
  }

  void pump() {
    if (closed_ || handler_ == nullptr) return;
    auto s = s_;  // keeps the shared state while callbacks may destroy this end
    int me = me_;
    if (s->reset) {
      closed_ = true;
      handler_->on_closed(Err(Errc::kClosed, "stream reset by peer"));
      return;
    }
    Direction& in = s->into[me];
    bool consumed = false;
    while (!in.reader_paused && !in.queue.empty()) {
      std::size_t offered = in.queue.size();
      std::size_t took = std::min(offered, handler_->on_data(in.queue));
      if (s->ends[me] != this) return;  // destroyed inside the callback
      if (s->reset) return schedule(me);
      in.queue.erase(in.queue.begin(), in.queue.begin() + static_cast<std::ptrdiff_t>(took));
      consumed = consumed || took > 0;
      if (took < offered) in.reader_paused = true;
      if (!alive(s, me, this)) {
        if (consumed) schedule(peer());
        return;
      }
    }
    if (consumed) schedule(peer());  // room for the writer, or its close may be due
    if (in.queue.empty() && in.fin && !in.fin_delivered) {
      in.fin_delivered = true;
      schedule(peer());
      handler_->on_fin();
      if (!alive(s, me, this)) return;
    }
    Direction& out = s->into[peer()];
    if (out.writer_waiting && out.queue.size() < s->capacity) {
      out.writer_waiting = false;
      handler_->on_writable();
      if (!alive(s, me, this)) return;
    }
    if (in.fin_delivered && shut_ && out.fin_delivered) {
      closed_ = true;
      handler_->on_closed(Ok());
    }
  }

  std::shared_ptr<Shared> s_;
  int me_;
  Handler* handler_ = nullptr;
  bool shut_ = false;
  bool closed_ = false;
  bool scheduled_ = false;
};

}  // namespace

MemoryPipe make_memory_pipe(asio::io_context& io, std::size_t capacity) {
  auto shared = std::make_shared<Shared>(io, std::max<std::size_t>(capacity, 1));
  MemoryPipe p;
  p.a = std::make_unique<End>(shared, 0);
  p.b = std::make_unique<End>(shared, 1);
  return p;
}

}  // namespace qc::front
