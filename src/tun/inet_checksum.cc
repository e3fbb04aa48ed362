#include "tun/inet_checksum.h"

namespace qc::tun {

std::uint32_t checksum_add(std::uint32_t sum, ByteView b) {
  std::size_t i = 0;
  for (; i + 1 < b.size(); i += 2) {
    sum += static_cast<std::uint32_t>((b[i] << 8) | b[i + 1]);
    if (sum >> 31) sum = (sum & 0xffff) + (sum >> 16);  // a 64 KB input cannot overflow
  }
  if (i < b.size()) sum += static_cast<std::uint32_t>(b[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

std::uint32_t pseudo_header_sum(ByteView src, ByteView dst, std::size_t length,
                                std::uint8_t next_header) {
  std::uint32_t sum = checksum_add(checksum_add(0, src), dst);
  sum += static_cast<std::uint32_t>(length >> 16) + static_cast<std::uint32_t>(length & 0xffff);
  sum += next_header;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

}  // namespace qc::tun
