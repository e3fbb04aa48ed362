// Test helper (root only): network namespaces "qct-t<role>-<pid>" created by `ip netns add` and
// deleted, with every interface in them, when the Lab is destroyed, at exit, and (for a run that
// was killed) at the start of the next run. Code runs inside a namespace on a thread that moved
// there with setns(2); the host's own interfaces are never touched.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>
#include <thread>

namespace qc::tun::testing {

inline int sh(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Runs `cmd` and returns its exit status and its standard output and error.
inline int sh_output(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (!f) return -1;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) out += buf;
  int rc = pclose(f);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class NetnsLab {
 public:
  NetnsLab() {
    remove(/*only_dead=*/true);
    static bool registered = (std::atexit([] { remove(false); }), true);
    (void)registered;
  }
  ~NetnsLab() { remove(false); }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  static std::string pid() { return std::to_string(getpid()); }
  static std::string ns(const std::string& role) { return "qct-t" + role + "-" + pid(); }

  // Empty when the test can run, else why not.
  static std::string skip_reason() {
    if (geteuid() != 0) return "needs root (creates network namespaces and TUN devices)";
    if (sh("ip netns list") != 0) return "no `ip netns`";
    if (access("/dev/net/tun", R_OK | W_OK) != 0) return "no /dev/net/tun";
    return "";
  }

  // Adds namespace `role` with loopback up; false on failure.
  bool add(const std::string& role) {
    return sh("ip netns add " + ns(role)) == 0 && sh("ip -n " + ns(role) + " link set lo up") == 0;
  }

  // Runs `fn` on a thread inside namespace `role` and waits for it. False if setns failed.
  static bool run_in(const std::string& role, const std::function<void()>& fn) {
    bool ok = false;
    std::thread t([&] {
      int fd = ::open(("/var/run/netns/" + ns(role)).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return;
      ok = setns(fd, CLONE_NEWNET) == 0;
      ::close(fd);
      if (ok) fn();
    });
    t.join();
    return ok;
  }

 private:
  // Deletes this process's namespaces, or (only_dead) those of processes that are gone.
  static void remove(bool only_dead) {
    FILE* f = popen("ip netns list 2>/dev/null", "r");
    if (!f) return;
    char line[256];
    std::set<std::string> victims;
    while (std::fgets(line, sizeof line, f)) {
      std::string name(line);
      name = name.substr(0, name.find_first_of(" \n"));
      if (name.rfind("qct-t", 0) != 0) continue;
      auto dash = name.find('-', 5);
      if (dash == std::string::npos) continue;
      long p = std::strtol(name.c_str() + dash + 1, nullptr, 10);
      bool dead = p <= 0 || (kill(static_cast<pid_t>(p), 0) != 0 && errno == ESRCH);
      if (p == getpid() ? !only_dead : dead) victims.insert(name);
    }
    pclose(f);
    for (const auto& v : victims) sh("ip netns del " + v);
  }
};

}  // namespace qc::tun::testing
