#include "front/splice.h"

namespace qc::front {

Splice::Splice(std::unique_ptr<ByteStream> a, std::unique_ptr<ByteStream> b, Done done)
    : streams_{std::move(a), std::move(b)},
      sides_{Side(*this, 0), Side(*this, 1)},
      done_(std::move(done)) {
  streams_[0]->set_handler(&sides_[0]);
  streams_[1]->set_handler(&sides_[1]);
  // A previous handler (a header reader) may have left either stream paused.
  streams_[0]->resume_reading();
  streams_[1]->resume_reading();
}

Splice::~Splice() {
  // Streams that have not closed are reset by their destructors; detach first so no callback
  // reaches this half-destroyed object.
  for (auto& s : streams_) {
    if (s) s->set_handler(nullptr);
  }
}

std::size_t Splice::buffered() const {
  return streams_[0]->buffered() + streams_[1]->buffered();
}

void Splice::reset() {
  finished_ = true;
  streams_[0]->reset();
  streams_[1]->reset();
}

void Splice::finish(Result<void> outcome) {
  if (finished_) return;
  finished_ = true;
  if (done_) {
    Done done = std::move(done_);
    done(std::move(outcome));  // may destroy *this
  }
}

std::size_t Splice::Side::on_data(ByteView data) {
  Splice& s = splice_;
  int other = 1 - index_;
  if (s.closed_[other]) return 0;
  std::size_t took = s.stream(other).write(data);
  if (took < data.size()) s.waiting_[index_] = true;
  return took;
}

void Splice::Side::on_fin() {
  Splice& s = splice_;
  s.stream(1 - index_).shutdown_write();
}

void Splice::Side::on_writable() {
  // Room in this side: the other side's held data can come.
  Splice& s = splice_;
  int other = 1 - index_;
  if (s.waiting_[other]) {
    s.waiting_[other] = false;
    s.stream(other).resume_reading();
  }
}

void Splice::Side::on_closed(Result<void> outcome) {
  Splice& s = splice_;
  s.closed_[index_] = true;
  if (!outcome) {
    s.stream(1 - index_).reset();
    s.finish(std::move(outcome));
    return;
  }
  if (s.closed_[1 - index_]) s.finish(Ok());
}

}  // namespace qc::front
