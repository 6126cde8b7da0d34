#pragma once
// What one run records as it goes: counts, every request's latency, and per-second bins of the
// Matcher's arrivals, services and busy workers and of the farm's idle slots, from which
// summary.hpp makes the figures. Times are in [0, duration_s]; later ones are not binned.
// Nothing here throws (beyond std::bad_alloc).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "agent/loop_policy.hpp"
#include "farmsim/scenario.hpp"

namespace pilot::farmsim {

// A level that changes at instants (busy workers, idle slots), integrated over one-second bins.
class LevelIntegral {
 public:
  LevelIntegral(std::size_t bins, double level) : bins_(bins, 0.0), level_(level) {}
  // The level is `level` from `t` on (t never decreases).
  void set(double t, double level);
  // Integrates the current level up to `t`.
  void close(double t);
  const std::vector<double>& bins() const { return bins_; }

 private:
  std::vector<double> bins_;
  double level_;
  double since_ = 0;
};

struct Counts {
  std::int64_t requests = 0;  // sent by pilots, refused ones included
  std::int64_t refused = 0;   // during an outage
  std::int64_t matches = 0;   // jobs a pilot received
  std::int64_t timeouts = 0;
  std::int64_t lost_to_timeouts = 0;  // jobs matched to a request its pilot had given up on
  std::int64_t jobs_returned = 0;     // of those, back in the backlog before the end
  std::int64_t declined = 0;          // matched but no longer fitting when the answer came
  std::map<agent::StopReason, int> stopped;
};

class Recorder {
 public:
  static constexpr std::array<int, 3> kFillPercents{50, 90, 99};

  explicit Recorder(const Scenario& s);

  void sent(double t);    // a request reaches the Matcher (or is refused by it)
  void served(double t);  // a worker finished one
  void busy_workers(double t, int busy);
  void busy_slots(double t, std::int64_t busy);
  void latency(double seconds) { latencies_.push_back(seconds); }
  Counts& counts() { return counts_; }
  // Integrates everything up to the end of the run.
  void finish();

  const Counts& counts() const { return counts_; }
  const std::vector<double>& latencies() const { return latencies_; }
  const std::vector<std::int64_t>& arrivals_per_bin() const { return arrivals_; }
  const std::vector<std::int64_t>& served_per_bin() const { return served_; }
  const std::vector<double>& worker_seconds_per_bin() const { return workers_.bins(); }
  const std::vector<double>& idle_slot_seconds_per_bin() const { return idle_.bins(); }
  // Busy slots at t = 0, step_s, 2 step_s, ... (< duration).
  const std::vector<std::int64_t>& busy_samples() const { return samples_; }
  // When busy slots first reached kFillPercents[i] % of the slots; nullopt: never.
  const std::array<std::optional<double>, 3>& fill_times() const { return fill_times_; }

 private:
  void sample_until(double t);

  double duration_s_;
  std::int64_t slots_;
  int step_s_;
  Counts counts_;
  std::vector<double> latencies_;
  std::vector<std::int64_t> arrivals_;
  std::vector<std::int64_t> served_;
  LevelIntegral workers_;
  LevelIntegral idle_;
  std::int64_t busy_ = 0;
  std::vector<std::int64_t> samples_;
  std::size_t next_sample_ = 0;
  std::array<std::optional<double>, 3> fill_times_;
};

}  // namespace pilot::farmsim
