#include "front/socks5_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace qc::front::socks5 {
namespace {

using Status = ServerHandshake::Status;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Address domain(std::string name, std::uint16_t port) {
  Address a;
  a.type = AddressType::kDomain;
  a.domain = std::move(name);
  a.port = port;
  return a;
}

Bytes connect_to(const Address& a) {
  return encode_request(Command::kConnect, a).value();
}

// Feeds `input` split at `cuts` (sorted positions) until the handshake ends, as a server does;
// returns all output and the last status. Bytes not fed after the end go to `*rest`.
ServerHandshake::Progress feed_split(ServerHandshake& h, const Bytes& input,
                                     const std::vector<std::size_t>& cuts, Bytes* rest = nullptr) {
  ServerHandshake::Progress total;
  std::size_t from = 0;
  auto step = [&](std::size_t to) {
    if (total.status != Status::kNeedMore) {
      if (rest != nullptr) rest->insert(rest->end(), input.begin() + from, input.begin() + to);
      from = to;
      return;
    }
    auto p = h.feed(ByteView(input.data() + from, to - from));
    total.output.insert(total.output.end(), p.output.begin(), p.output.end());
    total.status = p.status;
    from = to;
  };
  for (std::size_t c : cuts) step(c);
  step(input.size());
  return total;
}

AuthConfig with_password() {
  AuthConfig a;
  a.credentials = AuthConfig::Credentials{"alice", "s3cret"};
  return a;
}

TEST(Socks5Protocol, NoAuthConnectDomainInOneChunk) {
  ServerHandshake h({});
  Bytes in = cat({encode_greeting({Method::kNoAuth}), connect_to(domain("abc.fuse", 8080))});
  auto p = h.feed(in);
  EXPECT_EQ(p.status, Status::kRequestReady);
  EXPECT_EQ(p.output, (Bytes{0x05, 0x00}));
  EXPECT_EQ(h.request().command, Command::kConnect);
  EXPECT_EQ(h.request().destination.type, AddressType::kDomain);
  EXPECT_EQ(h.request().destination.domain, "abc.fuse");
  EXPECT_EQ(h.request().destination.port, 8080);
  EXPECT_TRUE(h.take_early_data().empty());
}

TEST(Socks5Protocol, EveryChunkingGivesTheSameResult) {
  Address v6;
  v6.type = AddressType::kIpv6;
  for (std::size_t i = 0; i < 16; ++i) v6.ipv6[i] = static_cast<std::uint8_t>(0xf0 + i);
  v6.port = 443;
  Address v4;
  v4.ipv4 = {10, 1, 2, 3};
  v4.port = 1;
  for (const Address& dest : {domain("faqmce7yybsswacf.fuse", 80), v6, v4}) {
    Bytes in = cat({encode_greeting({Method::kUserPass}), encode_auth("alice", "s3cret"),
                    connect_to(dest), Bytes{'G', 'E', 'T'}});
    // Two cuts at every pair of positions covers every split into up to three chunks.
    for (std::size_t a = 0; a <= in.size(); ++a) {
      for (std::size_t b = a; b <= in.size(); ++b) {
        ServerHandshake h(with_password());
        Bytes rest;
        auto p = feed_split(h, in, {a, b}, &rest);
        ASSERT_EQ(p.status, Status::kRequestReady) << a << "," << b;
        EXPECT_EQ(p.output, (Bytes{0x05, 0x02, 0x01, 0x00}));
        EXPECT_EQ(h.request().destination.to_string(), dest.to_string());
        Bytes early = h.take_early_data();
        early.insert(early.end(), rest.begin(), rest.end());
        EXPECT_EQ(early, (Bytes{'G', 'E', 'T'}));
      }
    }
    // And one byte at a time.
    ServerHandshake h(with_password());
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(feed_split(h, in, cuts).status, Status::kRequestReady);
  }
}

TEST(Socks5Protocol, Ipv4AndIpv6FieldsDecode) {
  ServerHandshake h({});
  Bytes in{0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90};
  ASSERT_EQ(h.feed(in).status, Status::kRequestReady);
  EXPECT_EQ(h.request().destination.to_string(), "127.0.0.1:8080");

  ServerHandshake h6({});
  Bytes in6{0x05, 0x01, 0x00, 0x05, 0x01, 0x00, 0x04};
  for (int i = 0; i < 15; ++i) in6.push_back(0);
  in6.push_back(1);
  in6.push_back(0x00);
  in6.push_back(0x50);
  ASSERT_EQ(h6.feed(in6).status, Status::kRequestReady);
  EXPECT_EQ(h6.request().destination.to_string(), "[::1]:80");
}

TEST(Socks5Protocol, BadGreetingVersionClosesWithoutReply) {
  for (std::uint8_t v : {0x04, 0x00, 0x47 /* 'G' of GET */, 0xff}) {
    ServerHandshake h({});
    auto p = h.feed(Bytes{v, 0x01, 0x00});
    EXPECT_EQ(p.status, Status::kClose);
    EXPECT_TRUE(p.output.empty());
    EXPECT_FALSE(h.close_reason().empty());
    // Further input is ignored.
    EXPECT_EQ(h.feed(Bytes{0x05}).status, Status::kClose);
  }
}

TEST(Socks5Protocol, NoAcceptableMethod) {
  ServerHandshake h({});
  auto p = h.feed(encode_greeting({Method::kUserPass}));
  EXPECT_EQ(p.status, Status::kClose);
  EXPECT_EQ(p.output, (Bytes{0x05, 0xff}));

  ServerHandshake zero({});
  EXPECT_EQ(zero.feed(Bytes{0x05, 0x00}).output, (Bytes{0x05, 0xff}));

  // With credentials configured, no-auth is refused.
  ServerHandshake pw(with_password());
  auto q = pw.feed(encode_greeting({Method::kNoAuth}));
  EXPECT_EQ(q.status, Status::kClose);
  EXPECT_EQ(q.output, (Bytes{0x05, 0xff}));
}

TEST(Socks5Protocol, PrefersConfiguredMethodAmongMany) {
  ServerHandshake h({});
  Bytes g{0x05, 0x04, 0x80, 0x02, 0x01, 0x00};
  auto p = h.feed(g);
  EXPECT_EQ(p.status, Status::kNeedMore);
  EXPECT_EQ(p.output, (Bytes{0x05, 0x00}));
  ServerHandshake pw(with_password());
  EXPECT_EQ(pw.feed(g).output, (Bytes{0x05, 0x02}));
}

TEST(Socks5Protocol, AuthFailures) {
  Bytes bad_version = encode_auth("alice", "s3cret");
  bad_version[0] = 0x05;
  for (const Bytes& auth : {encode_auth("alice", "wrong"), encode_auth("bob", "s3cret"),
                            encode_auth("alice", "s3cre"), encode_auth("alice", "s3cretX"),
                            encode_auth("", "s3cret"), encode_auth("alice", ""), bad_version}) {
    ServerHandshake h(with_password());
    auto p =
        h.feed(cat({encode_greeting({Method::kUserPass}), auth, connect_to(domain("x.fuse", 1))}));
    EXPECT_EQ(p.status, Status::kClose);
    EXPECT_EQ(p.output, (Bytes{0x05, 0x02, 0x01, 0x01}));
  }
}

TEST(Socks5Protocol, LongestCredentialsAccepted) {
  AuthConfig a;
  a.credentials = AuthConfig::Credentials{std::string(255, 'u'), std::string(255, 'p')};
  ServerHandshake h(a);
  auto p = h.feed(cat({encode_greeting({Method::kUserPass}),
                       encode_auth(std::string(255, 'u'), std::string(255, 'p')),
                       connect_to(domain(std::string(255, 'd'), 9))}));
  EXPECT_EQ(p.status, Status::kRequestReady);
  EXPECT_EQ(h.request().destination.domain.size(), 255u);
}

TEST(Socks5Protocol, UnsupportedCommandsAnsweredOnceRequestComplete) {
  for (Command c : {Command::kBind, Command::kUdpAssociate, static_cast<Command>(0x09)}) {
    ServerHandshake h({});
    Bytes in =
        cat({encode_greeting({Method::kNoAuth}), encode_request(c, domain("a.fuse", 1)).value()});
    auto partial = h.feed(ByteView(in.data(), in.size() - 1));
    EXPECT_EQ(partial.status, Status::kNeedMore);
    auto p = h.feed(ByteView(in.data() + in.size() - 1, 1));
    EXPECT_EQ(p.status, Status::kClose);
    EXPECT_EQ(p.output, encode_reply(ReplyCode::kCommandNotSupported));
    EXPECT_EQ(p.output[1], 0x07);
  }
}

TEST(Socks5Protocol, BadRequests) {
  auto run = [](Bytes request) {
    ServerHandshake h({});
    auto p = h.feed(cat({encode_greeting({Method::kNoAuth}), request}));
    return p;
  };
  auto unsupported_atyp = run(Bytes{0x05, 0x01, 0x00, 0x02, 1, 2, 3, 4, 0, 80});
  EXPECT_EQ(unsupported_atyp.status, Status::kClose);
  EXPECT_EQ(unsupported_atyp.output[3], 0x08);  // after the 2-byte method reply

  auto bad_version = run(Bytes{0x04, 0x01, 0x00, 0x01, 1, 2, 3, 4, 0, 80});
  EXPECT_EQ(bad_version.status, Status::kClose);
  EXPECT_EQ(bad_version.output[3], 0x01);

  auto bad_rsv = run(Bytes{0x05, 0x01, 0x07, 0x01, 1, 2, 3, 4, 0, 80});
  EXPECT_EQ(bad_rsv.status, Status::kClose);
  EXPECT_EQ(bad_rsv.output[3], 0x01);

  auto empty_domain = run(Bytes{0x05, 0x01, 0x00, 0x03, 0x00, 0, 80});
  EXPECT_EQ(empty_domain.status, Status::kClose);
  EXPECT_EQ(empty_domain.output[3], 0x01);

  auto nul_domain = run(Bytes{0x05, 0x01, 0x00, 0x03, 0x03, 'a', 0, 'b', 0, 80});
  EXPECT_EQ(nul_domain.status, Status::kClose);
  EXPECT_EQ(nul_domain.output[3], 0x01);
}

TEST(Socks5Protocol, TruncatedInputOnlyAsksForMore) {
  Bytes in = cat({encode_greeting({Method::kUserPass}), encode_auth("alice", "s3cret"),
                  connect_to(domain("faqmce7yybsswacf.fuse", 80))});
  for (std::size_t n = 0; n < in.size(); ++n) {
    ServerHandshake h(with_password());
    auto p = h.feed(ByteView(in.data(), n));
    EXPECT_EQ(p.status, Status::kNeedMore) << n;
  }
}

TEST(Socks5Protocol, OversizedDeclaredLengthsWaitThenParseExactly) {
  // A domain length byte of 255 followed by fewer bytes: more is needed, nothing is overread.
  ServerHandshake h({});
  Bytes in = cat({encode_greeting({Method::kNoAuth}), Bytes{0x05, 0x01, 0x00, 0x03, 0xff}});
  in.resize(in.size() + 100, 'a');
  EXPECT_EQ(h.feed(in).status, Status::kNeedMore);
  // A flood after the request stays early data; the handshake consumed exactly the request.
  ServerHandshake flood({});
  Bytes big = cat({encode_greeting({Method::kNoAuth}), connect_to(domain("a.fuse", 1))});
  big.resize(big.size() + 100000, 0xee);
  EXPECT_EQ(flood.feed(big).status, Status::kRequestReady);
  EXPECT_EQ(flood.take_early_data().size(), 100000u);
}

TEST(Socks5Protocol, ReplyEncoding) {
  EXPECT_EQ(encode_reply(ReplyCode::kSucceeded), (Bytes{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(encode_reply(ReplyCode::kHostUnreachable)[1], 0x04);
  Address d = domain("ab", 0x1234);
  EXPECT_EQ(encode_reply(ReplyCode::kNotAllowed, &d), (Bytes{5, 2, 0, 3, 2, 'a', 'b', 0x12, 0x34}));
  for (int c = 0; c <= 8; ++c) {
    EXPECT_STRNE(reply_code_name(static_cast<ReplyCode>(c)), "unknown");
  }
  EXPECT_FALSE(encode_request(Command::kConnect, domain("", 1)));
  EXPECT_FALSE(encode_request(Command::kConnect, domain(std::string(256, 'a'), 1)));
}

}  // namespace
}  // namespace qc::front::socks5
