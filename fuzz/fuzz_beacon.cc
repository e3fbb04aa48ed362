// Fuzzes the discovery beacon decoder (network input from anyone on the LAN): it must never
// crash, and whatever it accepts must encode back to exactly the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "discovery/beacon.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto b = qc::discovery::decode_beacon(qc::ByteView(data, size));
  if (!b) return 0;
  auto again = qc::discovery::encode_beacon(*b);
  if (!again || again->size() != size || !std::equal(again->begin(), again->end(), data)) {
    std::abort();
  }
  qc::identity::ClusterId cluster{};
  qc::identity::PartialId self{};
  (void)qc::discovery::classify(*b, cluster, self);
  return 0;
}
