#include "agent/loop_policy.hpp"

#include <algorithm>

namespace pilot::agent {

const char* stop_reason_text(StopReason r) {
  switch (r) {
    case StopReason::none:
      return "none";
    case StopReason::failed_matches:
      return "too many consecutive failed matches";
    case StopReason::host_failures:
      return "the job source could not be reached";
    case StopReason::max_jobs:
      return "maximum number of jobs reached";
    case StopReason::no_cpu_work_left:
      return "not enough CPU work left for another job";
    case StopReason::filling_off:
      return "filling mode is off";
    case StopReason::drain:
      return "drain file present";
    case StopReason::shutdown:
      return "the slot is shutting down";
    case StopReason::lifetime:
      return "pilot lifetime reached";
    case StopReason::version_mismatch:
      return "pilot version rejected by the server";
    case StopReason::no_dirac_runtime:
      return "the job source hands out jobs that need DIRAC and this pilot has no DIRAC runtime";
    case StopReason::source_empty:
      return "the job source holds no job, pending or running";
    case StopReason::signal:
      return "stopped by a signal";
  }
  return "?";
}

StopReason LoopPolicy::before_request(std::optional<double> cpu_work_left) const {
  int allowed_failures = std::max(limits_.stop_after_failed_matches, limits_.processors);
  if (failed_matches_ >= allowed_failures) return StopReason::failed_matches;
  if (host_failures_ >= limits_.max_host_failures) return StopReason::host_failures;
  if (limits_.max_jobs > 0 && jobs_ >= limits_.max_jobs) return StopReason::max_jobs;
  if (jobs_ > 0) {
    if (!limits_.fill) return StopReason::filling_off;
    if (cpu_work_left && *cpu_work_left < limits_.min_cpu_work_left_hs06s)
      return StopReason::no_cpu_work_left;
  }
  return StopReason::none;
}

}  // namespace pilot::agent
