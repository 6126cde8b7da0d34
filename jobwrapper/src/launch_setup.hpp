#pragma once
// Launch initializers of the payload beyond core/process_v2.hpp's: joining the job cgroup before
// exec (so not even the first fork escapes it) and a clean signal state. Both run in the forked
// child: system calls only.

#include <signal.h>
#include <unistd.h>

#include "core/process_v2.hpp"

namespace pilot::jobwrapper {

// Writes "0" (the writer itself) into the job cgroup's cgroup.procs descriptor; -1: no cgroup.
struct JoinCgroup {
  int procs_fd = -1;
  template <typename Launcher>
  boost::system::error_code on_exec_setup(Launcher&, const std::filesystem::path&,
                                          const char* const*&) const {
    if (procs_fd >= 0 && ::write(procs_fd, "0", 1) != 1)
      return {errno, boost::system::system_category()};
    return {};
  }
};

// Ignored signals stay ignored across exec and the mask is inherited: a pilot started from nohup
// or a batch script with SIGINT ignored would otherwise hand a payload that cannot be stopped.
struct ResetSignals {
  template <typename Launcher>
  boost::system::error_code on_exec_setup(Launcher&, const std::filesystem::path&,
                                          const char* const*&) const {
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    return {};
  }
};

}  // namespace pilot::jobwrapper
