// On-disk encoding of the peer database's keys and values (internal to src/peerdb; tests use it
// to write raw records). Values are one format byte (kFormatVersion) followed by a protobuf
// message of src/proto/peerdb.proto. Decoders never crash on garbage: they return kParse naming
// the record.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/result.h"
#include "peerdb/records.h"

namespace qc::peerdb::codec {

constexpr std::uint8_t kFormatVersion = 1;

// Sub-database names inside the LMDB environment.
inline constexpr char kPeersDb[] = "peers";
inline constexpr char kEventsDb[] = "events";
inline constexpr char kRoutesDb[] = "routes";
inline constexpr char kMetaDb[] = "meta";

// meta keys
inline constexpr char kSchemaKey[] = "schema";           // u32 BE: kSchemaVersion
inline constexpr char kNextSeqKey[] = "next_event_seq";  // u64 BE
constexpr std::uint32_t kSchemaVersion = 1;

// Limits a record must respect (checked on write and on read).
constexpr std::size_t kMaxHostPort = 300;
constexpr std::size_t kMaxDetail = 256;
constexpr std::size_t kMaxCertChainBytes = 64 * 1024;
constexpr std::size_t kMaxRouteBytes = 16 * 1024;

void put_u64be(Bytes& out, std::uint64_t v);
std::uint64_t get_u64be(const std::uint8_t* p);

// Keys.
Bytes peer_key(const identity::PartialId& p);
Bytes event_key(std::uint64_t seq);
Bytes route_key(const identity::PartialId& dest, std::uint64_t route_id);

// Values. decode_* take the key too (the identity lives there) and validate both.
Result<Bytes> encode_peer(const Peer& p);
Result<Peer> decode_peer(ByteView key, ByteView value);
Result<Bytes> encode_event(const Event& e);
Result<Event> decode_event(ByteView key, ByteView value);
Result<Bytes> encode_route(const CachedRoute& r);
Result<CachedRoute> decode_route(ByteView key, ByteView value);

}  // namespace qc::peerdb::codec
