#include "routing/siphash.h"

namespace qc::routing {

namespace {
inline std::uint64_t rotl(std::uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}
}  // namespace

SipHasher::SipHasher(const SipKey& key)
    : v0_(0x736f6d6570736575ULL ^ key[0]),
      v1_(0x646f72616e646f6dULL ^ key[1]),
      v2_(0x6c7967656e657261ULL ^ key[0]),
      v3_(0x7465646279746573ULL ^ key[1]) {}

void SipHasher::compress(std::uint64_t m) {
  v3_ ^= m;
  for (int i = 0; i < 2; ++i) {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }
  v0_ ^= m;
}

void SipHasher::update(ByteView data) {
  for (std::uint8_t b : data) {
    tail_ |= static_cast<std::uint64_t>(b) << (8 * (total_ % 8));
    ++total_;
    if (total_ % 8 == 0) {
      compress(tail_);
      tail_ = 0;
    }
  }
}

void SipHasher::update_u64(std::uint64_t v) {
  std::uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<std::uint8_t>(v >> (8 * i));
  update(ByteView(b, 8));
}

std::uint64_t SipHasher::finish() {
  std::uint64_t m = tail_ | (total_ << 56);
  compress(m);
  v2_ ^= 0xff;
  for (int i = 0; i < 4; ++i) {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }
  return v0_ ^ v1_ ^ v2_ ^ v3_;
}

std::uint64_t siphash(const SipKey& key, ByteView data) {
  SipHasher h(key);
  h.update(data);
  return h.finish();
}

}  // namespace qc::routing
