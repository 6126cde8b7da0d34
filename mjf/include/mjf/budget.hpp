#pragma once
// The one answer to "how long may I run, on how much": the resource budget, computed from one
// observation of the node (MJF, local files, batch system) and the operator's configuration.
//
// Wall time: the earliest deadline among
//   - the slot's own limit, from the first source that knows it: MJF `jobstart_secs +
//     wall_limit_secs` ("wall_limit"), else the batch system's end time ("batch"), else the
//     configured wall limit counted from the pilot's start ("config");
//   - every announced early stop: `shutdowntime_job`, `shutdowntime`, the local shutdown file
//     ("shutdown_file"); the earlier of machine and job shutdown wins.
// minus now. It may be zero or negative (the deadline passed): it is not clamped. `limited_by`
// names every deadline that falls at that earliest time, not one picked among equals.
// CPU power per processor (HS06): hs06_job/allocated_cpu ("mjf_job"), else hs06/total_cpu
// ("mjf_machine"), else legacy hs06/min(max(log_cores, phys_cores), jobslots) rounded to two
// decimals ("mjf_legacy"), else configuration ("config").
// CPU work left (HS06·s, DIRAC's `CPUTime`): min(wall seconds left, CPU seconds left) × power,
// never below zero.
// Shutdowns announced: every shutdown time known, however far away (glideinWMS treats such a slot
// as draining: no job that cannot finish before it). Draining: the operator's drain file exists,
// so no new job is taken at all.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mjf/batch.hpp"
#include "mjf/features.hpp"

namespace pilot::mjf {

enum class Limit { wall_limit, shutdowntime_job, shutdowntime, shutdown_file, batch, config };
std::string_view limit_name(Limit limit);
// The names joined by ',' in the given order ("wall_limit,shutdowntime_job"); "" for none.
std::string limit_names(const std::vector<Limit>& limits);

// What the operator configured; each value is the last source of its kind.
struct Config {
  std::optional<double> cpu_power_hs06;
  std::optional<std::int64_t> processors;
  std::optional<std::int64_t> wall_limit_secs;  // counted from started_at
  std::optional<std::int64_t> memory_limit_bytes;
  std::int64_t started_at = 0;  // epoch of the pilot's start
};

// Everything read from the node at one check.
struct Observation {
  Features mjf;
  std::optional<std::int64_t> shutdown_file;
  bool drain_file = false;
  std::optional<BatchJob> batch;
  std::optional<BatchLimits> batch_limits;  // asked only when MJF has no job wall limit
  std::optional<EnvProcessors> batch_processors;
  std::optional<std::int64_t> cpu_used_secs;  // CPU already used by the job, when the caller knows
};

// One of the slot's deadlines: what sets it and when it falls.
struct SlotDeadline {
  Limit source;
  std::int64_t epoch;
};

struct ResourceBudget {
  std::optional<std::int64_t> wall_seconds_left;
  // The sources of every deadline at the earliest epoch, in `deadlines` order; empty when none
  // is known.
  std::vector<Limit> limited_by;
  // Every known deadline, earliest first; on a tie the slot's own limit comes before an announced
  // shutdown, and the job's shutdown before the machine's.
  std::vector<SlotDeadline> deadlines;
  std::optional<std::int64_t> cpu_seconds_left;
  std::optional<std::int64_t> processors;
  std::string processors_source;  // "allocated_cpu", "allocated_CPU", a variable name, "config"
  std::optional<std::int64_t> memory_limit_bytes;
  std::string memory_limit_source;  // "max_rss_bytes", "mem_limit_MB", "batch", "config"
  std::optional<double> cpu_power_hs06;
  std::string cpu_power_source;  // "mjf_job", "mjf_machine", "mjf_legacy", "config"
  std::optional<double> cpu_work_left_hs06s;
  // shutdowntime_job, shutdowntime, shutdown_file: those known, in that order.
  std::vector<Limit> shutdowns_announced;
  bool draining = false;  // the drain file exists
};

// True when MJF does not give the slot's own wall limit, so the batch system must be asked.
bool needs_batch_limits(const Features& mjf);

ResourceBudget compute_budget(const Observation& obs, const Config& config, std::int64_t now);

}  // namespace pilot::mjf
