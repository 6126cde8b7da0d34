#pragma once
// The one way to include Boost.Process v2 in this project, with the fixes Debian 12's Boost 1.81
// needs (see the pilot_process target) and the two launch initializers every child gets:
// its own process group, and no inherited descriptors besides stdio.

#include <boost/optional.hpp>
#include <boost/type_traits.hpp>
// clang-format off: the pre-includes above must come first
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/process/v2.hpp>
// clang-format on

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

namespace pilot::process {

namespace bp = boost::process::v2;
namespace asio = boost::asio;

// Puts the child in a new process group (or a new session, which implies one), so that a signal
// to -pid reaches everything it starts without reaching the pilot.
struct NewProcessGroup {
  bool new_session = false;
  template <typename Launcher>
  boost::system::error_code on_exec_setup(Launcher&, const std::filesystem::path&,
                                          const char* const*&) const {
    if (new_session ? ::setsid() < 0 : ::setpgid(0, 0) != 0)
      return {errno, boost::system::system_category()};
    return {};
  }
};

// Closes every descriptor above 2 that the launcher does not need. Boost 1.81's own close_all
// only closes descriptors above the highest whitelisted one and relies on close_range (Linux 5.9),
// so sockets of libcurl (opened without SOCK_CLOEXEC) would leak into payloads. It runs in the
// forked child, so it only uses system calls: no allocation.
struct CloseInheritedFds {
  template <typename Launcher>
  boost::system::error_code on_exec_setup(Launcher& launcher, const std::filesystem::path&,
                                          const char* const*&) const {
    const auto& keep = launcher.fd_whitelist;
    auto kept = [&](int fd) {
      return fd <= 2 || std::find(keep.begin(), keep.end(), fd) != keep.end();
    };
    int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
      rlimit rl{};
      long max = (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
                     ? static_cast<long>(std::min<rlim_t>(rl.rlim_cur, 65536))
                     : 65536;
      for (int fd = 3; fd < max; ++fd)
        if (!kept(fd)) ::close(fd);
      return {};
    }
    alignas(8) char buf[4096];
    for (;;) {
      long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        int fd = 0;
        const char* p = d->d_name;
        if (*p < '0' || *p > '9') continue;
        for (; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + (*p - '0');
        if (fd != dir && !kept(fd)) ::close(fd);
      }
    }
    ::close(dir);
    return {};
  }
};

}  // namespace pilot::process
