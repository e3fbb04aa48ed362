// UdpSocket and GsoSender on 127.0.0.1: batches of equal-size packets leave in one GSO sendmsg
// and arrive as separate datagrams (GRO batches are split by the receiver).
#include "transport/udp_socket.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>

namespace qc::transport {
namespace {

std::vector<Bytes> receive_all(UdpSocket& s, std::size_t want) {
  std::vector<Bytes> got;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (got.size() < want && std::chrono::steady_clock::now() < end) {
    pollfd p{s.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    s.receive(
        [&](const Address&, ByteView d, std::uint8_t) { got.emplace_back(d.begin(), d.end()); },
        1000);
  }
  return got;
}

TEST(UdpSocketTest, GsoBatchesArriveAsSeparateDatagrams) {
  UdpSocket rx, tx;
  ASSERT_TRUE(rx.open(*Address::parse("127.0.0.1", 0), {}));
  ASSERT_TRUE(tx.open(*Address::parse("127.0.0.1", 0), {}));
  GsoSender sender(tx);
  Path path{tx.local_address(), rx.local_address()};
  // 50 full packets (more than one batch of 65000 bytes), then a short one that ends the batch,
  // then a bigger one that must start a new batch.
  std::vector<std::size_t> sizes(50, 1200);
  sizes.push_back(300);
  sizes.push_back(1400);
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto buf = sender.buffer(1452);
    for (std::size_t j = 0; j < sizes[i]; ++j) buf[j] = static_cast<std::uint8_t>(i);
    sender.commit(path, sizes[i], 0);
  }
  sender.flush();
  auto got = receive_all(rx, sizes.size());
  ASSERT_EQ(got.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(got[i].size(), sizes[i]) << i;
    EXPECT_EQ(got[i][0], static_cast<std::uint8_t>(i)) << i;
  }
  if (tx.gso_enabled()) {
    EXPECT_LT(tx.counters().send_calls, 6u);
  }
}

TEST(UdpSocketTest, BindErrorsAreValues) {
  UdpSocket a, b;
  ASSERT_TRUE(a.open(*Address::parse("127.0.0.1", 0), {}));
  auto r = b.open(a.local_address(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kIo);
}

TEST(AddressTest, ParseAndPrint) {
  EXPECT_EQ(Address::parse("127.0.0.1:4433")->to_string(), "127.0.0.1:4433");
  EXPECT_EQ(Address::parse("[::1]:80")->to_string(), "[::1]:80");
  EXPECT_EQ(Address::parse("::1", 7)->port(), 7);
  EXPECT_FALSE(Address::parse("localhost:1"));
  EXPECT_FALSE(Address::parse("1.2.3.4:99999"));
  EXPECT_FALSE(Address::parse("1.2.3.4"));
  EXPECT_TRUE(*Address::parse("10.0.0.1:1") == *Address::parse("10.0.0.1", 1));
}

}  // namespace
}  // namespace qc::transport
