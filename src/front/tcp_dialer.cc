#include "front/tcp_dialer.h"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>

#include <string>

namespace qc::front {

TcpDialer::TcpDialer(asio::io_context& io, TcpByteStreamOptions stream_options)
    : io_(io), stream_options_(stream_options) {}

TcpDialer::~TcpDialer() {
  *alive_ = false;
}

void TcpDialer::dial(const Destination& destination, Callback callback) {
  if (destination.kind != Destination::Kind::kOutside) {
    asio::post(io_, [callback] {
      callback(Err(Errc::kUnsupported, "the direct dialer does not reach mesh peers"));
    });
    return;
  }
  const socks5::Address& a = destination.address;
  std::string host;
  switch (a.type) {
    case socks5::AddressType::kIpv4:
      host = asio::ip::address_v4(a.ipv4).to_string();
      break;
    case socks5::AddressType::kIpv6:
      host = asio::ip::address_v6(a.ipv6).to_string();
      break;
    case socks5::AddressType::kDomain:
      host = a.domain;
      break;
  }
  auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_);
  auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
  auto options = stream_options_;
  auto alive = alive_;
  std::string target = destination.to_string();
  resolver->async_resolve(
      host, std::to_string(a.port), asio::ip::tcp::resolver::numeric_service,
      [resolver, socket, options, alive, target, callback](
          const std::error_code& ec, asio::ip::tcp::resolver::results_type results) {
        if (!*alive) return;
        if (ec || results.empty()) {
          return callback(Err(Errc::kNotFound, target + ": " + ec.message()));
        }
        asio::async_connect(
            *socket, results,
            [socket, options, alive, target, callback](const std::error_code& cec,
                                                       const asio::ip::tcp::endpoint&) {
              if (!*alive) return;
              if (cec) return callback(Err(Errc::kIo, target + ": " + cec.message()));
              std::error_code ignored;
              socket->set_option(asio::ip::tcp::no_delay(true), ignored);
              callback(std::make_unique<TcpByteStream>(std::move(*socket), options));
            });
      });
}

}  // namespace qc::front
