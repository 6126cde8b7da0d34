#pragma once
// When the job loop stops (pilot-behaviour.md section 2): the stop rules and the reason the
// pilot gives when it ends; how long it waits between requests is request_pacing.hpp's. Pure
// state, so every rule is tested without a server.

#include <cstdint>
#include <optional>
#include <string>

namespace pilot::agent {

struct LoopLimits {
  int stop_after_failed_matches = 10;  // consecutive "no match" answers
  int max_host_failures = 3;           // consecutive failures to reach the server
  int max_jobs = 0;                    // 0: unlimited
  double min_cpu_work_left_hs06s = 5000;
  bool fill = true;    // take further jobs after the first
  int processors = 1;  // with a pool, failed matches allowed = max(processors, N)
};

enum class StopReason {
  none,
  failed_matches,
  host_failures,
  max_jobs,
  no_cpu_work_left,
  filling_off,
  drain,
  shutdown,
  lifetime,
  version_mismatch,
  no_dirac_runtime,
  source_empty,
  signal,
};
const char* stop_reason_text(StopReason r);

class LoopPolicy {
 public:
  explicit LoopPolicy(LoopLimits limits) : limits_(limits) {}

  void on_match() { failed_matches_ = 0, host_failures_ = 0, ++jobs_; }
  void on_no_match() { ++failed_matches_, host_failures_ = 0; }
  void on_host_failure() { ++host_failures_; }

  // Before asking for a job: the reason to stop, or none. `cpu_work_left` is the current CPU
  // work left in HS06 s (nullopt: unknown, never a reason to stop).
  StopReason before_request(std::optional<double> cpu_work_left) const;

  int jobs() const { return jobs_; }
  int failed_matches() const { return failed_matches_; }
  int host_failures() const { return host_failures_; }

 private:
  LoopLimits limits_;
  int jobs_ = 0;
  int failed_matches_ = 0;
  int host_failures_ = 0;
};

}  // namespace pilot::agent
