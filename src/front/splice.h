// Splice: joins two ByteStreams and copies bytes both ways until both have closed.
//
// It holds no buffer of its own: what one side's write() does not take stays in the other
// side's stream (on_data returns the short count), and reading resumes on on_writable(). So the
// bytes in flight are bounded by the two streams' own bounds. FIN is forwarded as
// shutdown_write(); an error or reset on either side resets the other. It takes over the
// handlers of both streams and resumes reading on both (a header reader may have paused them).
//
// Threading: the streams' event-loop thread. `done` runs once, from a stream callback, when
// both streams have closed (Ok) or one failed (its error); the Splice may be destroyed in it.
#pragma once

#include <functional>
#include <memory>

#include "front/byte_stream.h"

namespace qc::front {

class Splice {
 public:
  using Done = std::function<void(Result<void>)>;
  Splice(std::unique_ptr<ByteStream> a, std::unique_ptr<ByteStream> b, Done done);
  ~Splice();
  Splice(const Splice&) = delete;
  Splice& operator=(const Splice&) = delete;

  // Bytes held by both streams.
  std::size_t buffered() const;
  // Aborts both directions (both peers see a reset). `done` is not called.
  void reset();

 private:
  class Side final : public ByteStream::Handler {
   public:
    Side(Splice& splice, int index) : splice_(splice), index_(index) {}
    std::size_t on_data(ByteView data) override;
    void on_fin() override;
    void on_writable() override;
    void on_closed(Result<void> outcome) override;

   private:
    Splice& splice_;
    int index_;
  };

  ByteStream& stream(int i) { return *streams_[i]; }
  void finish(Result<void> outcome);

  std::unique_ptr<ByteStream> streams_[2];
  Side sides_[2];
  bool closed_[2] = {false, false};
  bool waiting_[2] = {false, false};  // side i's data waits for room in the other side
  bool finished_ = false;
  Done done_;
};

}  // namespace qc::front
