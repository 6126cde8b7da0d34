#pragma once
// The supervisor's tests' job: sampling every 50 ms, no stall or disk check, 1 s graces, no
// heartbeat, so each case takes about a second.
#include <string>
#include <utility>
#include <vector>

#include "core/fs.hpp"
#include "jobwrapper/job_spec.hpp"

namespace pilot::jobwrapper::test {

inline JobSpec quick_spec(const pilot::TempDir& d, std::vector<std::string> argv) {
  JobSpec s;
  s.argv = std::move(argv);
  s.workdir = d.path() / "job";
  s.watchdog.poll_s = 0.05;
  s.watchdog.stalled_window_s = 0;
  s.watchdog.min_free_disk_bytes = 0;
  s.grace_s = 1;
  s.term_grace_s = 1;
  s.heartbeat_s = 0;
  return s;
}

}  // namespace pilot::jobwrapper::test
