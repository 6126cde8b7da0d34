#pragma once
// The per-job checks: each takes a sample of the job and decides whether a limit is crossed.
// Every reason has a stable code (in job.json and `pilot exec --json`) and a text; texts are
// DIRAC's job minor statuses where DIRAC has the check.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobwrapper/job_spec.hpp"

namespace pilot::jobwrapper {

enum class Reason {
  wall_clock,
  cpu_time,
  memory,
  oom_killed,
  stalled,
  disk_space,
  looping,
  stop_requested
};

std::string_view reason_code(Reason r);  // "wall_clock", ...
std::string_view reason_text(Reason r);  // "Job has exceeded maximum wall clock time", ...
std::optional<Reason> parse_reason(std::string_view code);

struct Sample {
  double wall_s = 0;
  double cpu_s = 0;
  std::uint64_t pss_bytes = 0;
  std::optional<std::uint64_t> cgroup_memory_bytes;
  std::optional<std::uint64_t> oom_kills;
  std::optional<std::uint64_t> free_disk_bytes;
  std::optional<double> files_idle_s;  // since the newest file modification in the job dir
};

struct Finding {
  Reason reason;
  std::string detail;  // the numbers: "wall 3.1 s > limit 3 s"
  bool kill = true;    // false: a warning (memory policy warn)
};

class Watchdog {
 public:
  explicit Watchdog(WatchdogConfig config) : config_(config) {}
  // Findings of this sample. A warning is reported once per reason; kill findings every time
  // (the supervisor acts on the first).
  std::vector<Finding> check(const Sample& s);

 private:
  WatchdogConfig config_;
  std::deque<std::pair<double, double>> history_;  // (wall, cpu) for the stalled window
  std::vector<Reason> warned_;
};

}  // namespace pilot::jobwrapper
