// libFuzzer target for the circuit packet decoder (every neighbour-session DATAGRAM goes through
// it) and the stats body decoder. Checks that what decodes re-encodes to the same bytes.
#include <cstdint>
#include <cstdlib>

#include "circuit/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  qc::ByteView in(data, size);
  auto p = qc::circuit::decode(in);
  if (p) {
    auto again = qc::circuit::encode(p->label, p->type, p->body);
    if (!again || qc::Bytes(in.begin(), in.end()) != *again) std::abort();
    if (p->type == qc::circuit::PacketType::kStats) {
      auto s = qc::circuit::decode_stats(p->body);
      if (s && qc::circuit::encode_stats(*s) != qc::Bytes(p->body.begin(), p->body.end())) {
        std::abort();
      }
    }
  }
  auto s = qc::circuit::decode_stats(in);
  if (s && qc::circuit::encode_stats(*s) != qc::Bytes(in.begin(), in.end())) std::abort();
  return 0;
}
