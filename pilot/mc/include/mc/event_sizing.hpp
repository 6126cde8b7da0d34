#pragma once
// How many events an interruptible Monte Carlo job should be asked for, by LHCbDIRAC's rule
// (getEventsToProduce): the CPU time left per processor, capped at 24 h, times the CPU power,
// divided by the job's cost per event, with a 0.8 safety factor and the job's own cap.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace pilot::mc {

inline constexpr double kMaxCpuTimeSeconds = 86400;  // LHCbDIRAC's jobMaxCPUTime
inline constexpr double kSafetyFactor = 0.8;

struct SizingInputs {
  double cpu_time_left_s = 0;              // per processor, seconds
  std::string cpu_time_left_source;        // e.g. "mjf:shutdowntime_job", "batch:slurm", "config"
  double cpu_power_hs06 = 0;               // HS06 per processor
  std::string cpu_power_source;            // e.g. "mjf:hs06_job/allocated_cpu", "config"
  double cpue = 0;                         // HS06·s per event, from the job (JDL CPUe)
  std::optional<std::int64_t> max_events;  // the job's MaxNumberOfEvents
};

struct Sizing {
  SizingInputs inputs;
  double cpu_time_s = 0;        // min(time left, 24 h)
  std::int64_t events_fit = 0;  // floor(floor(cpu_time x power) / CPUe)
  std::int64_t events = 0;      // after the safety factor and the cap: what the payload gets
  bool capped = false;          // MaxNumberOfEvents decided
};

// Throws pilot::Error "No time left to produce events" when fewer than one event fits, and a
// clear error for inputs that cannot be sized (CPUe or power not positive).
Sizing size_events(const SizingInputs& inputs);

// Every input, its source and the result, for the job record.
nlohmann::json to_json(const Sizing& sizing);

}  // namespace pilot::mc
