// Endpoint packet handling that needs no handshake: version negotiation and stateless resets,
// seen by a raw UDP socket on 127.0.0.1.
#include "transport/endpoint.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

#include "transport/test_pki.h"

namespace qc::transport {
namespace {

Bytes receive_one(UdpSocket& s, asio::io_context& io,
                  std::chrono::milliseconds limit = std::chrono::seconds(3)) {
  Bytes got;
  auto end = std::chrono::steady_clock::now() + limit;
  while (got.empty() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
    s.receive([&](const Address&, ByteView d, std::uint8_t) { got.assign(d.begin(), d.end()); }, 1);
  }
  return got;
}

class EndpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static identity::CertAuthority ca = testing::make_test_ca("endpoint CA");
    static testing::TestNode node = testing::make_test_node(ca, "server");
    ConnectionSettings s;
    s.tls = *TlsContext::create(node.creds);
    EndpointOptions o;
    o.reset_secret = std::array<std::uint8_t, 32>{1, 2, 3};
    endpoint = std::make_unique<Endpoint>(io, o);
    ASSERT_TRUE(endpoint->open(*Address::parse("127.0.0.1", 0)));
    endpoint->listen(s, [](Endpoint::Handle, Connection&) { return nullptr; });
    ASSERT_TRUE(raw.open(*Address::parse("127.0.0.1", 0), {}));
  }
  asio::io_context io;
  std::unique_ptr<Endpoint> endpoint;
  UdpSocket raw;
};

TEST_F(EndpointTest, UnknownVersionGetsVersionNegotiation) {
  Bytes initial(1200, 0);
  initial[0] = 0xc0;  // long header
  initial[1] = 0x1a;  // version 0x1a2a3a4a
  initial[2] = 0x2a;
  initial[3] = 0x3a;
  initial[4] = 0x4a;
  initial[5] = 8;   // DCID length
  initial[14] = 8;  // SCID length
  ASSERT_TRUE(raw.send(endpoint->local_address(), initial, initial.size(), 0));
  Bytes vn = receive_one(raw, io);
  ASSERT_GE(vn.size(), 7u);
  EXPECT_EQ(vn[0] & 0x80, 0x80);
  EXPECT_EQ(vn[1] | vn[2] | vn[3] | vn[4], 0);  // version 0: Version Negotiation
  EXPECT_EQ(endpoint->counters().version_negotiations_sent, 1u);
  // A short probe gets nothing (no amplification).
  Bytes tiny(initial.begin(), initial.begin() + 100);
  ASSERT_TRUE(raw.send(endpoint->local_address(), tiny, tiny.size(), 0));
  EXPECT_TRUE(receive_one(raw, io, std::chrono::milliseconds(300)).empty());
}

TEST_F(EndpointTest, UnknownConnectionGetsSmallerStatelessReset) {
  Bytes short_pkt(60, 0x55);
  short_pkt[0] = 0x40;  // short header, fixed bit
  ASSERT_TRUE(raw.send(endpoint->local_address(), short_pkt, short_pkt.size(), 0));
  Bytes reset = receive_one(raw, io);
  ASSERT_FALSE(reset.empty());
  EXPECT_LT(reset.size(), short_pkt.size());
  EXPECT_EQ(reset[0] & 0xc0, 0x40);
  EXPECT_EQ(endpoint->counters().stateless_resets_sent, 1u);
  // Garbage too short to be one of ours gets nothing.
  Bytes tiny(10, 0x40);
  ASSERT_TRUE(raw.send(endpoint->local_address(), tiny, tiny.size(), 0));
  EXPECT_TRUE(receive_one(raw, io, std::chrono::milliseconds(300)).empty());
}

}  // namespace
}  // namespace qc::transport
