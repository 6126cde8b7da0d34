#pragma once
// The figures of one policy's run (the JSON report's SUMMARY): how fast the farm fills against
// the Matcher's bound, what the pilots cost the Matcher, and how it comes back after an outage.
// nullopt is a figure that does not exist in this run (a fill level never reached, no outage,
// no match, no complete 10 s window). Nothing here throws (beyond std::bad_alloc).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "farmsim/recorder.hpp"
#include "farmsim/scenario.hpp"

namespace pilot::farmsim {

// One step of the series: busy slots at t; the rates and utilisation over [t, t + step_s).
struct SeriesPoint {
  double t = 0;
  std::int64_t busy_slots = 0;
  double offered_per_s = 0;
  double served_per_s = 0;
  double utilisation = 0;
};

struct Summary {
  std::optional<double> time_to_50_s, time_to_90_s, time_to_99_s;
  std::optional<double> fill_ratio_99;                 // time_to_99_s / fill_bound_s
  std::optional<double> latency_p50_s, latency_p99_s;  // send to answer, or to the time-out
  std::int64_t requests = 0;                           // refused ones included
  std::int64_t matches = 0;
  std::optional<double> requests_per_match;
  std::int64_t timeouts = 0;
  std::int64_t lost_to_timeouts = 0;
  double idle_slot_hours = 0;
  // Over 10 s windows starting at t >= 60 s: requests sent per second (refused ones included:
  // a retry storm hits the Matcher's address whether or not it answers) / capacity.
  std::optional<double> max_offered_ratio_10s;
  double mean_utilisation = 0;  // busy worker time / (workers x duration)
  // From the outage's end to the start of the first 10 s window with utilisation >= 0.95 or
  // no idle slot; nullopt without an outage or if that never happens.
  std::optional<double> recovery_s;
  std::map<std::string, int> pilots_stopped;  // by stop_reason_text
  std::vector<SeriesPoint> series;
  // Not in the JSON report's schema; the table shows them.
  std::int64_t refused = 0;
  std::int64_t jobs_returned = 0;
  std::int64_t declined = 0;
};

struct PolicyRun {
  Policy policy = Policy::ours;
  Summary summary;
};

// The recorder must be finished.
Summary summarise(const Scenario& s, const Recorder& r);

}  // namespace pilot::farmsim
