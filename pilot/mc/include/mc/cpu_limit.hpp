#pragma once
// Stopping an MC payload gracefully before the job's CPU-time limit: the watchdog kills a tree
// whose CPU time passes the limit, which would lose the event in flight and the finalisation.
// The stop is requested once the CPU the tree will burn during the payload's grace and one more
// check period, at its current rate, would reach the limit.

#include <chrono>
#include <optional>
#include <string>

namespace pilot::mc {

// True once cpu_used_s + (grace_s + period_s) x max(cpu_rate, 1) >= limit_s. A limit <= 0 means
// none. The rate is in CPU seconds per wall second (the cores in use); at least one core is
// assumed so a payload that was idle in the last period cannot outrun the check.
bool cpu_limit_reached(double cpu_used_s, double cpu_rate, double limit_s, double grace_s,
                       double period_s);

// The CPU rate of a tree measured from its last two samples (1 until there are two).
class CpuRate {
 public:
  double update(double cpu_s,
                std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  double rate() const { return rate_; }

 private:
  std::optional<std::chrono::steady_clock::time_point> last_at_;
  double last_cpu_s_ = 0;
  double rate_ = 1;
};

// One check per poll for a job with a CPU limit: updates `rate` with the tree's CPU time and
// returns the stop reason ("CPU limit approaching: ...") when the limit is reached.
std::optional<std::string> cpu_limit_stop(
    CpuRate& rate, double cpu_s, double limit_s, double grace_s, double period_s,
    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

}  // namespace pilot::mc
