// The node's configuration: one TOML file per node (`qc node --config node.toml`).
//
// Every key is optional except [identity]; unknown keys are errors (a typo must not be silently
// ignored), and every error names the key and the line. Relative paths are relative to the
// directory of the config file. See docs/configuration.md for the full reference.
//
//   log_level = "info"            # trace, debug, info, warn, error, off
//   name = "alpha"                # a label for logs (the identity is the certificate)
//   data_dir = "/var/lib/qc"      # peer database and control socket (default: beside the config)
//
//   [identity]
//   ca = "ca.crt"                 # the cluster root
//   cert = "cert.crt"             # leaf first, then intermediates
//   key = "key.pem"
//   suffix = "fuse"               # hostname suffix: <text id>.fuse
//
//   [listen]
//   address = "::"                # UDP address for QUIC neighbour sessions
//   port = 7420
//
//   [peers]
//   static = ["192.0.2.1:7420", "[2001:db8::1]:7420", "host.example:7420"]
//
//   [session]
//   idle_timeout = 30.0           # seconds without packets before a session is declared dead
//   keepalive = 10.0              # seconds between keep-alive PINGs on an idle session
//   redial_min = 0.5              # re-dial backoff for static peers: first delay (s)
//   redial_max = 30.0             # ... and cap (s)
//
//   [discovery]
//   enabled = true                # LAN beacons (IPv4 broadcast, IPv6 ff02::7421) on UDP 7421
//   port = 7421
//   allow = ["eth*", "veth*"]     # interface name globs to use (default: all)
//   deny = ["docker*"]            # ... and to skip (deny wins)
//
//   [routing]
//   fanout = 2                    # copies of one route probe a node forwards
//   wanted_circuits = 2           # circuits kept to each peer the node talks to
//
//   [socks]                       # the table turns the SOCKS5 proxy on (off without it)
//   enabled = true
//   listen = "127.0.0.1:1080"     # the default: loopback only
//   username = "u"                # with password: RFC 1929 authentication required
//   password = "p"
//   allow_direct = false          # let non-mesh destinations out from this node
//
//   [expose]
//   ports = ["8080", "80=127.0.0.1:8000"]   # what other nodes may reach here (nothing by default)
//
//   [vpn]
//   enabled = false               # VPN mode: a TUN device with the node's cluster IPv6 address
//   device = "qc0"                # its name (at most 15 characters)
//   mtu = "auto"                  # "auto": from the channels' datagram room; or 1280..65535
//   merge_writes = true           # TCP segments from the mesh written to the TUN merged (GSO)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace qc::daemon {

struct HostPort {
  std::string host;  // name or literal, without brackets
  std::uint16_t port = 0;
  std::string to_string() const;
};

// Parses "host:port", "[v6]:port" or "v6literal" is rejected (ambiguous without brackets).
Result<HostPort> parse_host_port(std::string_view text);

struct NodeConfig {
  std::string log_level = "info";
  std::string name;
  std::string data_dir;  // absolute after load

  struct Identity {
    std::string ca, cert, key;  // absolute after load
    std::string suffix = "fuse";
  } identity;

  struct Listen {
    std::string address = "::";
    std::uint16_t port = 7420;
  } listen;

  std::vector<HostPort> static_peers;

  struct Session {
    double idle_timeout = 30.0;
    double keepalive = 10.0;
    double redial_min = 0.5;
    double redial_max = 30.0;
  } session;

  struct Discovery {
    bool enabled = true;
    std::uint16_t port = 7421;
    std::vector<std::string> allow;
    std::vector<std::string> deny;
  } discovery;

  struct Routing {
    std::uint32_t fanout = 2;
    std::uint32_t wanted_circuits = 2;
  } routing;

  // The SOCKS5 proxy for local programs (docs/socks5.md); off unless `listen` is set.
  struct Socks {
    std::optional<HostPort> listen;  // e.g. 127.0.0.1:1080
    std::string username, password;  // both set: RFC 1929 authentication required
    bool allow_direct = false;       // let non-mesh destinations out from this node
  } socks;
  // Ports of this node that other nodes may reach through proxied streams ("8080",
  // "80=127.0.0.1:8000", ...; see front::ExposePolicy::parse). Nothing by default.
  std::vector<std::string> expose;
  struct Vpn {
    bool enabled = false;
    std::string device = "qc0";
    std::size_t mtu = 0;  // bytes; 0 = "auto" (computed from the channels' datagram room)
    // Consecutive TCP segments of one receive batch written as one super-packet
    // (tun::TcpCoalescer); false writes every packet on its own.
    bool merge_writes = true;
  } vpn;

  // The control socket: <data_dir>/control.sock.
  std::string control_socket() const { return data_dir + "/control.sock"; }

  std::string source_path;  // the file it was loaded from, if any
};

// Parses TOML text. `base_dir` resolves relative paths; `origin` names the source in errors.
Result<NodeConfig> parse_config(std::string_view toml_text, const std::string& base_dir,
                                const std::string& origin = "config");
// Reads and parses a file.
Result<NodeConfig> load_config(const std::string& path);

// Renders a config as TOML (used by `qc demo` and tests to write node files).
std::string to_toml(const NodeConfig& c);

}  // namespace qc::daemon
