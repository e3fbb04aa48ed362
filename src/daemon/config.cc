#include "daemon/config.h"

#include "front/expose_policy.h"

#include <toml++/toml.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace qc::daemon {

namespace fs = std::filesystem;

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(std::string_view t) {
  HostPort hp;
  std::string_view port;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':')
      return Err(Errc::kParse, "'" + std::string(t) + "' is not [ipv6]:port");
    hp.host = std::string(t.substr(1, close - 1));
    port = t.substr(close + 2);
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return Err(Errc::kParse, "'" + std::string(t) + "' is not host:port");
    if (t.substr(0, colon).find(':') != std::string_view::npos)
      return Err(Errc::kParse,
                 "'" + std::string(t) + "': write IPv6 addresses in brackets, as [addr]:port");
    hp.host = std::string(t.substr(0, colon));
    port = t.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5)
    return Err(Errc::kParse, "'" + std::string(t) + "': bad port");
  unsigned v = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return Err(Errc::kParse, "'" + std::string(t) + "': bad port");
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return Err(Errc::kParse, "'" + std::string(t) + "': port out of range");
  hp.port = static_cast<std::uint16_t>(v);
  return hp;
}

namespace {

// Reads one config file, reporting errors as "<origin>:<line>: key 'a.b': message".
class Reader {
 public:
  Reader(std::string origin, std::string base)
      : origin_(std::move(origin)), base_(std::move(base)) {}

  Unexpected fail(const toml::node& n, const std::string& key, const std::string& msg) const {
    return Err(Errc::kParse, origin_ + ":" + std::to_string(n.source().begin.line) + ": key '" +
                                 key + "': " + msg);
  }

  // Rejects keys of `table` not in `known`.
  Result<void> only(const toml::table& table, const std::string& prefix,
                    std::initializer_list<std::string_view> known) const {
    for (auto&& [k, v] : table) {
      bool ok = false;
      for (auto kn : known) ok = ok || k.str() == kn;
      if (!ok) {
        std::string list;
        for (auto kn : known) list += (list.empty() ? "" : ", ") + std::string(kn);
        return fail(v, prefix + std::string(k.str()),
                    "unknown key (known keys here: " + list + ")");
      }
    }
    return Ok();
  }

  Result<void> str(const toml::table& t, const std::string& prefix, std::string_view key,
                   std::string* out) const {
    const toml::node* n = t.get(key);
    if (!n) return Ok();
    auto v = n->value<std::string>();
    if (!n->is_string() || !v) return fail(*n, prefix + std::string(key), "must be a string");
    *out = *v;
    return Ok();
  }

  Result<void> path(const toml::table& t, const std::string& prefix, std::string_view key,
                    std::string* out) const {
    QC_TRY(str(t, prefix, key, out));
    if (!out->empty()) *out = resolve(*out);
    return Ok();
  }

  Result<void> number(const toml::table& t, const std::string& prefix, std::string_view key,
                      double lo, double hi, double* out) const {
    const toml::node* n = t.get(key);
    if (!n) return Ok();
    if (!n->is_number()) return fail(*n, prefix + std::string(key), "must be a number");
    double v =
        n->is_integer() ? static_cast<double>(*n->value<std::int64_t>()) : *n->value<double>();
    if (!(v >= lo && v <= hi))  // also refuses nan
      return fail(*n, prefix + std::string(key),
                  "must be between " + fmt(lo) + " and " + fmt(hi) + ", not " + fmt(v));
    *out = v;
    return Ok();
  }

  Result<void> boolean(const toml::table& t, const std::string& prefix, std::string_view key,
                       bool* out) const {
    const toml::node* n = t.get(key);
    if (!n) return Ok();
    if (!n->is_boolean()) return fail(*n, prefix + std::string(key), "must be true or false");
    *out = *n->value<bool>();
    return Ok();
  }

  Result<void> strings(const toml::table& t, const std::string& prefix, std::string_view key,
                       std::vector<std::string>* out) const {
    const toml::node* n = t.get(key);
    if (!n) return Ok();
    const toml::array* arr = n->as_array();
    if (!arr) return fail(*n, prefix + std::string(key), "must be a list of strings");
    out->clear();
    for (const toml::node& e : *arr) {
      auto v = e.value<std::string>();
      if (!e.is_string() || !v)
        return fail(e, prefix + std::string(key), "entries must be strings");
      out->push_back(*v);
    }
    return Ok();
  }

  std::string resolve(const std::string& p) const {
    fs::path path(p);
    if (path.is_absolute() || base_.empty()) return path.lexically_normal().string();
    return (fs::path(base_) / path).lexically_normal().string();
  }

 private:
  static std::string fmt(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
  }
  std::string origin_, base_;
};

const toml::table* subtable(const toml::table& root, std::string_view key) {
  return root.get_as<toml::table>(key);
}

}  // namespace

Result<NodeConfig> parse_config(std::string_view text, const std::string& base_dir,
                                const std::string& origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return Err(Errc::kParse, origin + ":" + std::to_string(e.source().begin.line) + ":" +
                                 std::to_string(e.source().begin.column) + ": " +
                                 std::string(e.description()));
  }
  Reader r(origin, base_dir);
  NodeConfig c;
  QC_TRY(r.only(root, "",
                {"log_level", "name", "data_dir", "identity", "listen", "peers", "session",
                 "discovery", "routing", "socks", "expose", "vpn"}));
  for (auto key : {"identity", "listen", "peers", "session", "discovery", "routing", "socks",
                   "expose", "vpn"}) {
    if (const toml::node* n = root.get(key); n && !n->is_table())
      return r.fail(*n, key, std::string("must be a table: write [") + key + "]");
  }
  QC_TRY(r.str(root, "", "log_level", &c.log_level));
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c.log_level))
    return r.fail(*root.get("log_level"), "log_level",
                  "'" + c.log_level + "' is not one of trace, debug, info, warn, error, off");
  QC_TRY(r.str(root, "", "name", &c.name));
  QC_TRY(r.path(root, "", "data_dir", &c.data_dir));
  if (c.data_dir.empty()) c.data_dir = base_dir.empty() ? "." : base_dir;

  const toml::table* id = subtable(root, "identity");
  if (!id) return Err(Errc::kParse, origin + ": missing [identity] table (ca, cert, key)");
  QC_TRY(r.only(*id, "identity.", {"ca", "cert", "key", "suffix"}));
  QC_TRY(r.path(*id, "identity.", "ca", &c.identity.ca));
  QC_TRY(r.path(*id, "identity.", "cert", &c.identity.cert));
  QC_TRY(r.path(*id, "identity.", "key", &c.identity.key));
  QC_TRY(r.str(*id, "identity.", "suffix", &c.identity.suffix));
  for (auto [k, v] :
       {std::pair{"ca", &c.identity.ca}, {"cert", &c.identity.cert}, {"key", &c.identity.key}}) {
    if (v->empty())
      return Err(Errc::kParse, origin + ":" + std::to_string(id->source().begin.line) +
                                   ": [identity] needs '" + k + "' (a file path)");
  }
  if (c.identity.suffix.empty() || c.identity.suffix.find_first_of(". ") != std::string::npos)
    return r.fail(*id, "identity.suffix", "must be one non-empty DNS label without dots");

  if (const toml::table* l = subtable(root, "listen")) {
    QC_TRY(r.only(*l, "listen.", {"address", "port"}));
    QC_TRY(r.str(*l, "listen.", "address", &c.listen.address));
    double port = c.listen.port;
    QC_TRY(r.number(*l, "listen.", "port", 0, 65535, &port));
    c.listen.port = static_cast<std::uint16_t>(port);
  }

  if (const toml::table* p = subtable(root, "peers")) {
    QC_TRY(r.only(*p, "peers.", {"static"}));
    if (const toml::node* s = p->get("static")) {
      const toml::array* arr = s->as_array();
      if (!arr) return r.fail(*s, "peers.static", "must be a list of \"host:port\" strings");
      for (const toml::node& e : *arr) {
        auto v = e.value<std::string>();
        if (!e.is_string() || !v)
          return r.fail(e, "peers.static", "entries must be \"host:port\" strings");
        auto hp = parse_host_port(*v);
        if (!hp) return r.fail(e, "peers.static", hp.error().message);
        c.static_peers.push_back(*hp);
      }
    }
  }

  if (const toml::table* s = subtable(root, "session")) {
    QC_TRY(r.only(*s, "session.", {"idle_timeout", "keepalive", "redial_min", "redial_max"}));
    QC_TRY(r.number(*s, "session.", "idle_timeout", 1, 3600, &c.session.idle_timeout));
    QC_TRY(r.number(*s, "session.", "keepalive", 0.1, 3600, &c.session.keepalive));
    QC_TRY(r.number(*s, "session.", "redial_min", 0.01, 3600, &c.session.redial_min));
    QC_TRY(r.number(*s, "session.", "redial_max", 0.01, 86400, &c.session.redial_max));
    if (c.session.keepalive >= c.session.idle_timeout)
      return r.fail(*s, "session.keepalive", "must be shorter than session.idle_timeout");
    if (c.session.redial_max < c.session.redial_min)
      return r.fail(*s, "session.redial_max", "must not be less than session.redial_min");
  }
  if (const toml::table* d = subtable(root, "discovery")) {
    QC_TRY(r.only(*d, "discovery.", {"enabled", "port", "allow", "deny"}));
    QC_TRY(r.boolean(*d, "discovery.", "enabled", &c.discovery.enabled));
    double port = c.discovery.port;
    QC_TRY(r.number(*d, "discovery.", "port", 1, 65535, &port));
    c.discovery.port = static_cast<std::uint16_t>(port);
    QC_TRY(r.strings(*d, "discovery.", "allow", &c.discovery.allow));
    QC_TRY(r.strings(*d, "discovery.", "deny", &c.discovery.deny));
  }

  if (const toml::table* rt = subtable(root, "routing")) {
    QC_TRY(r.only(*rt, "routing.", {"fanout", "wanted_circuits"}));
    double fanout = c.routing.fanout, wanted = c.routing.wanted_circuits;
    QC_TRY(r.number(*rt, "routing.", "fanout", 1, 16, &fanout));
    QC_TRY(r.number(*rt, "routing.", "wanted_circuits", 1, 16, &wanted));
    c.routing.fanout = static_cast<std::uint32_t>(fanout);
    c.routing.wanted_circuits = static_cast<std::uint32_t>(wanted);
  }

  if (const toml::table* so = subtable(root, "socks")) {
    QC_TRY(r.only(*so, "socks.", {"enabled", "listen", "username", "password", "allow_direct"}));
    // A [socks] table turns the proxy on, on loopback port 1080 unless `listen` says otherwise.
    bool enabled = true;
    QC_TRY(r.boolean(*so, "socks.", "enabled", &enabled));
    std::string listen = "127.0.0.1:1080";
    QC_TRY(r.str(*so, "socks.", "listen", &listen));
    auto hp = parse_host_port(listen);
    if (!hp) return r.fail(*so->get("listen"), "socks.listen", hp.error().message);
    if (enabled) c.socks.listen = *hp;
    QC_TRY(r.str(*so, "socks.", "username", &c.socks.username));
    QC_TRY(r.str(*so, "socks.", "password", &c.socks.password));
    QC_TRY(r.boolean(*so, "socks.", "allow_direct", &c.socks.allow_direct));
    if (c.socks.username.empty() != c.socks.password.empty())
      return r.fail(*so, "socks.username", "set both username and password, or neither");
  }
  if (const toml::table* ex = subtable(root, "expose")) {
    QC_TRY(r.only(*ex, "expose.", {"ports"}));
    QC_TRY(r.strings(*ex, "expose.", "ports", &c.expose));
    if (auto p = front::ExposePolicy::parse(c.expose); !p)
      return r.fail(*ex->get("ports"), "expose.ports", p.error().message);
  }
  if (const toml::table* v = subtable(root, "vpn")) {
    QC_TRY(r.only(*v, "vpn.", {"enabled", "device", "mtu", "merge_writes"}));
    QC_TRY(r.boolean(*v, "vpn.", "enabled", &c.vpn.enabled));
    QC_TRY(r.boolean(*v, "vpn.", "merge_writes", &c.vpn.merge_writes));
    QC_TRY(r.str(*v, "vpn.", "device", &c.vpn.device));
    // Linux interface names: 1 to 15 characters, no '/', no whitespace, not "." or "..".
    if (c.vpn.device.empty() || c.vpn.device.size() > 15 || c.vpn.device == "." ||
        c.vpn.device == ".." || c.vpn.device.find_first_of("/ \t\n:") != std::string::npos)
      return r.fail(*v->get("device"), "vpn.device",
                    "'" + c.vpn.device +
                        "' is not an interface name (1 to 15 characters, no '/', ':' or spaces)");
    if (const toml::node* m = v->get("mtu")) {
      if (m->is_string()) {
        if (*m->value<std::string>() != "auto")
          return r.fail(*m, "vpn.mtu", "must be \"auto\" or a number of bytes (1280 to 65535)");
        c.vpn.mtu = 0;
      } else {
        double mtu = 0;
        QC_TRY(r.number(*v, "vpn.", "mtu", 1280, 65535, &mtu));
        c.vpn.mtu = static_cast<std::size_t>(mtu);
      }
    }
  }
  return c;
}

Result<NodeConfig> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Err(Errc::kNotFound, "cannot read config file '" + path +
                                    "' (check the path; `qc demo --help` shows a working example)");
  std::stringstream ss;
  ss << in.rdbuf();
  fs::path abs = fs::absolute(path);
  auto c = parse_config(ss.str(), abs.parent_path().string(), path);
  if (c) c->source_path = abs.string();
  return c;
}

namespace {
std::string quote(const std::string& s) {
  std::ostringstream o;
  o << toml::value<std::string>(s);
  return o.str();
}
}  // namespace

std::string to_toml(const NodeConfig& c) {
  std::ostringstream o;
  o << "log_level = " << quote(c.log_level) << "\n";
  if (!c.name.empty()) o << "name = " << quote(c.name) << "\n";
  if (!c.data_dir.empty()) o << "data_dir = " << quote(c.data_dir) << "\n";
  o << "\n[identity]\nca = " << quote(c.identity.ca) << "\ncert = " << quote(c.identity.cert)
    << "\nkey = " << quote(c.identity.key) << "\nsuffix = " << quote(c.identity.suffix) << "\n";
  o << "\n[listen]\naddress = " << quote(c.listen.address) << "\nport = " << c.listen.port << "\n";
  o << "\n[peers]\nstatic = [";
  for (std::size_t i = 0; i < c.static_peers.size(); ++i)
    o << (i ? ", " : "") << quote(c.static_peers[i].to_string());
  o << "]\n";
  o << "\n[session]\nidle_timeout = " << c.session.idle_timeout
    << "\nkeepalive = " << c.session.keepalive << "\nredial_min = " << c.session.redial_min
    << "\nredial_max = " << c.session.redial_max << "\n";
  auto list = [&](const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
    return out + "]";
  };
  o << "\n[discovery]\nenabled = " << (c.discovery.enabled ? "true" : "false")
    << "\nport = " << c.discovery.port << "\nallow = " << list(c.discovery.allow)
    << "\ndeny = " << list(c.discovery.deny) << "\n";
  o << "\n[routing]\nfanout = " << c.routing.fanout
    << "\nwanted_circuits = " << c.routing.wanted_circuits << "\n";
  if (c.socks.listen) {
    o << "\n[socks]\nlisten = " << quote(c.socks.listen->to_string())
      << "\nallow_direct = " << (c.socks.allow_direct ? "true" : "false") << "\n";
    if (!c.socks.username.empty())
      o << "username = " << quote(c.socks.username) << "\npassword = " << quote(c.socks.password)
        << "\n";
  }
  if (!c.expose.empty()) o << "\n[expose]\nports = " << list(c.expose) << "\n";
  o << "\n[vpn]\nenabled = " << (c.vpn.enabled ? "true" : "false")
    << "\ndevice = " << quote(c.vpn.device) << "\nmtu = ";
  if (c.vpn.mtu == 0) {
    o << "\"auto\"\n";
  } else {
    o << c.vpn.mtu << "\n";
  }
  o << "merge_writes = " << (c.vpn.merge_writes ? "true" : "false") << "\n";
  return o.str();
}

}  // namespace qc::daemon
