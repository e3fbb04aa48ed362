#include "circuit/packet.h"

namespace qc::circuit {

std::size_t label_size(Label label) {
  if (label == 0 || label > kMaxLabel) return 0;
  return label < 64 ? 1 : 2;
}

std::size_t varint_size(std::uint64_t v) {
  if (v < 64) return 1;
  if (v < 16384) return 2;
  if (v < (1ull << 30)) return 4;
  return 8;
}

std::size_t put_varint(std::uint64_t v, std::uint8_t* out) {
  std::size_t n = varint_size(v);
  static constexpr std::uint8_t kPrefix[] = {0, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
  for (std::size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
  }
  out[0] |= kPrefix[n - 1];
  return n;
}

std::size_t get_varint(ByteView in, std::uint64_t& v) {
  if (in.empty()) return 0;
  std::size_t n = std::size_t{1} << (in[0] >> 6);
  if (in.size() < n) return 0;
  v = in[0] & 0x3f;
  for (std::size_t i = 1; i < n; ++i) v = (v << 8) | in[i];
  if (varint_size(v) != n) return 0;  // non-minimal
  return n;
}

Result<PacketView> decode(ByteView packet) {
  std::uint64_t label = 0;
  std::size_t n = get_varint(packet, label);
  if (n == 0 || n > 2) return Err(Errc::kParse, "circuit packet: bad label varint");
  if (label == 0) return Err(Errc::kParse, "circuit packet: label 0");
  if (packet.size() < n + 1) return Err(Errc::kParse, "circuit packet: no type");
  std::uint8_t type = packet[n];
  if (type > static_cast<std::uint8_t>(PacketType::kWake)) {
    return Err(Errc::kParse, "circuit packet: unknown type " + std::to_string(type));
  }
  PacketView v;
  v.label = static_cast<Label>(label);
  v.label_len = n;
  v.type = static_cast<PacketType>(type);
  v.body = packet.subspan(n + 1);
  if (v.type == PacketType::kData && v.body.empty()) {
    return Err(Errc::kParse, "circuit packet: empty data");
  }
  if (v.type == PacketType::kWake && !v.body.empty()) {
    return Err(Errc::kParse, "circuit packet: wake with a body");
  }
  return v;
}

std::size_t encode_header(Label label, PacketType type, std::uint8_t* out) {
  if (label_size(label) == 0) return 0;
  std::size_t n = put_varint(label, out);
  out[n] = static_cast<std::uint8_t>(type);
  return n + 1;
}

Result<Bytes> encode(Label label, PacketType type, ByteView body) {
  if (label_size(label) == 0) {
    return Err(Errc::kInvalidArgument, "circuit label " + std::to_string(label) + " out of range");
  }
  Bytes out(header_size(label) + body.size());
  std::size_t n = encode_header(label, type, out.data());
  std::copy(body.begin(), body.end(), out.begin() + static_cast<std::ptrdiff_t>(n));
  return out;
}

Result<StatsBody> decode_stats(ByteView body) {
  if (body.size() < 3) return Err(Errc::kParse, "stats: truncated");
  if ((body[0] & ~1u) != 0) return Err(Errc::kParse, "stats: unknown flags");
  StatsBody s;
  s.reply = (body[0] & 1u) != 0;
  std::size_t pos = 1;
  std::size_t n = get_varint(body.subspan(pos), s.seq);
  if (n == 0) return Err(Errc::kParse, "stats: bad seq");
  pos += n;
  if (pos >= body.size()) return Err(Errc::kParse, "stats: no count");
  std::size_t count = body[pos++];
  if (count > kMaxHops) return Err(Errc::kParse, "stats: too many hops");
  for (std::size_t i = 0; i < count; ++i) {
    if (pos >= body.size()) return Err(Errc::kParse, "stats: truncated hop");
    HopStats h;
    h.hop = body[pos++];
    std::uint32_t* fields[] = {&h.rtt_us, &h.queue, &h.drops, &h.room};
    for (std::uint32_t* f : fields) {
      std::uint64_t v = 0;
      std::size_t k = get_varint(body.subspan(pos), v);
      if (k == 0 || v > UINT32_MAX) return Err(Errc::kParse, "stats: bad hop field");
      *f = static_cast<std::uint32_t>(v);
      pos += k;
    }
    s.hops.push_back(h);
  }
  if (pos != body.size()) return Err(Errc::kParse, "stats: trailing bytes");
  return s;
}

Bytes encode_stats(const StatsBody& s) {
  Bytes out;
  out.reserve(3 + 8 + s.hops.size() * 20);
  std::uint8_t tmp[8];
  out.push_back(s.reply ? 1 : 0);
  std::uint64_t seq = s.seq & ((1ull << 62) - 1);
  out.insert(out.end(), tmp, tmp + put_varint(seq, tmp));
  std::size_t count = std::min(s.hops.size(), kMaxHops);
  out.push_back(static_cast<std::uint8_t>(count));
  for (std::size_t i = 0; i < count; ++i) {
    const HopStats& h = s.hops[i];
    out.push_back(h.hop);
    for (std::uint32_t v : {h.rtt_us, h.queue, h.drops, h.room}) {
      out.insert(out.end(), tmp, tmp + put_varint(v, tmp));
    }
  }
  return out;
}

}  // namespace qc::circuit
