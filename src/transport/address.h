// A UDP socket address (IPv4 or IPv6) and a network path (local, remote).
//
// Value types; no threading rule beyond "do not share a mutable one between threads".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace qc::transport {

class Address {
 public:
  Address() = default;
  // From a sockaddr of `len` bytes (AF_INET or AF_INET6); anything else gives an empty Address.
  Address(const sockaddr* sa, socklen_t len);

  // "127.0.0.1", "::1", "[::1]" plus a port. kInvalidArgument on anything else.
  static Result<Address> parse(std::string_view ip, std::uint16_t port);
  // "127.0.0.1:4433", "[::1]:4433".
  static Result<Address> parse(std::string_view ip_port);

  bool empty() const { return len_ == 0; }
  int family() const { return storage_.ss_family; }
  std::uint16_t port() const;
  void set_port(std::uint16_t port);
  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* sockaddr_ptr() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  // "127.0.0.1:4433" / "[::1]:4433"; "-" when empty.
  std::string to_string() const;

  // Same family, address and port (IPv6 flow info and scope are ignored, except the scope id).
  friend bool operator==(const Address& a, const Address& b);

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

struct Path {
  Address local;
  Address remote;
};

}  // namespace qc::transport
