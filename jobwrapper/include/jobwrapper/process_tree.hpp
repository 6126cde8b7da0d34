#pragma once
// The payload's process tree: which processes belong to the job, what they use, and signalling
// all of them. Membership survives setsid and double forks: with a job cgroup it is the cgroup's
// process list; without, a /proc scan takes descendants of the root, members of its session or
// group, and every process whose environment carries the job's marker. A zombie counts as gone
// (PID 1 may not reap orphans promptly).

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "jobwrapper/procfs.hpp"

namespace pilot::jobwrapper {

class JobCgroup;

struct TreeUsage {
  std::size_t processes = 0;  // alive members
  double cpu_user_s = 0;      // whole tree, including members that have ended
  double cpu_system_s = 0;
  std::uint64_t pss_bytes = 0;  // alive members now
  std::uint64_t rss_bytes = 0;
  std::uint64_t vsize_bytes = 0;
  std::optional<std::uint64_t> cgroup_memory_bytes;
  std::optional<std::uint64_t> cgroup_memory_peak_bytes;
  std::optional<std::uint64_t> oom_kills;
  double cpu_s() const { return cpu_user_s + cpu_system_s; }
};

class ProcessTree {
 public:
  // `cgroup` (may be null) is not owned and must outlive the tree. `marker_entry` is the
  // "PILOT_JOB_MARKER=..." entry of the payload's environment.
  ProcessTree(std::filesystem::path proc_root, pid_t root, std::string marker_entry,
              const JobCgroup* cgroup);

  // Rescans membership and usage. `with_memory` also reads PSS (smaps_rollup) of each member.
  void refresh(bool with_memory);
  const TreeUsage& usage() const { return usage_; }
  std::vector<pid_t> alive() const;
  bool empty() const { return usage_.processes == 0; }

  // The root has ended and been reaped (by its keeper) with this CPU time, its own and its
  // waited-for children's (wait4); it replaces the root's sampled values.
  void root_ended(double user_s, double system_s);

  // Rescans, then sends `sig` to every alive member (and, for SIGKILL, cgroup.kill). Returns how
  // many processes were signalled.
  std::size_t signal_all(int sig);

 private:
  struct Member {
    std::uint64_t starttime = 0;
    pid_t ppid = 0;
    std::uint64_t user_ticks = 0;  // utime + cutime: own plus waited-for children
    std::uint64_t system_ticks = 0;
  };
  bool belongs(const ProcStat& st, const std::map<pid_t, Member>& found);

  std::filesystem::path proc_root_;
  pid_t root_;
  std::string marker_entry_;
  const JobCgroup* cgroup_;
  std::uint64_t root_starttime_ = 0;
  std::map<pid_t, Member> members_;
  std::set<std::pair<pid_t, std::uint64_t>> strangers_;  // checked once: not ours
  double ended_user_s_ = 0;  // members that ended without a member parent to account for them
  double ended_system_s_ = 0;
  std::optional<std::pair<double, double>> root_final_;
  TreeUsage usage_;
};

}  // namespace pilot::jobwrapper
