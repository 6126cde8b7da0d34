#pragma once
// The Machine/Job Features of the slot: every key of HSF-TN-2016-02 and the 2014 legacy keys,
// typed per the value rules (mjf/value.hpp), absent as nullopt. Static keys are read once;
// `shutdowntime` and `shutdowntime_job` are dynamic and re-read by refresh_dynamic(), which keeps
// the last good value when a re-read fails (I/O error, HTTP 5xx, timeout, garbage) and drops it
// only when the site withdraws it (file gone, HTTP 404, empty value).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/log.hpp"
#include "mjf/location.hpp"

namespace pilot::mjf {

struct MachineFeatures {
  std::optional<std::int64_t> total_cpu;
  std::optional<double> hs06;
  std::optional<std::int64_t> shutdowntime;  // dynamic
  std::optional<std::int64_t> grace_secs;
  // Legacy (2014 draft, still written by Vac).
  std::optional<std::int64_t> jobslots;
  std::optional<std::int64_t> log_cores;
  std::optional<std::int64_t> phys_cores;
};

struct JobFeatures {
  std::optional<std::int64_t> allocated_cpu;
  std::optional<double> hs06_job;
  std::optional<std::int64_t> shutdowntime_job;  // dynamic
  std::optional<std::int64_t> grace_secs_job;
  std::optional<std::int64_t> jobstart_secs;
  std::optional<std::string> job_id;
  std::optional<std::int64_t> wall_limit_secs;
  std::optional<std::int64_t> cpu_limit_secs;
  std::optional<std::int64_t> max_rss_bytes;
  std::optional<std::int64_t> max_swap_bytes;
  std::optional<std::int64_t> scratch_limit_bytes;
  // Legacy (2014 draft). cpufactor_lrms is a normalisation factor (e.g. 2.5), so it is read as
  // a decimal like hs06; the other legacy keys are integers.
  std::optional<double> cpufactor_lrms;
  std::optional<std::int64_t> cpu_limit_secs_lrms;
  std::optional<std::int64_t> wall_limit_secs_lrms;
  std::optional<std::int64_t> disk_limit_GB;
  std::optional<std::int64_t> mem_limit_MB;
  std::optional<std::int64_t> allocated_CPU;
};

// Calls f(key, field) for every key in the spec's order, with the field as a reference to its
// optional member; used to read every key and to print every key (null when absent).
template <typename M, typename F>
requires std::is_same_v<std::remove_const_t<M>, MachineFeatures>
void for_each_key(M& m, F&& f) {
  f("total_cpu", m.total_cpu);
  f("hs06", m.hs06);
  f("shutdowntime", m.shutdowntime);
  f("grace_secs", m.grace_secs);
  f("jobslots", m.jobslots);
  f("log_cores", m.log_cores);
  f("phys_cores", m.phys_cores);
}

template <typename J, typename F>
requires std::is_same_v<std::remove_const_t<J>, JobFeatures>
void for_each_key(J& j, F&& f) {
  f("allocated_cpu", j.allocated_cpu);
  f("hs06_job", j.hs06_job);
  f("shutdowntime_job", j.shutdowntime_job);
  f("grace_secs_job", j.grace_secs_job);
  f("jobstart_secs", j.jobstart_secs);
  f("job_id", j.job_id);
  f("wall_limit_secs", j.wall_limit_secs);
  f("cpu_limit_secs", j.cpu_limit_secs);
  f("max_rss_bytes", j.max_rss_bytes);
  f("max_swap_bytes", j.max_swap_bytes);
  f("scratch_limit_bytes", j.scratch_limit_bytes);
  f("cpufactor_lrms", j.cpufactor_lrms);
  f("cpu_limit_secs_lrms", j.cpu_limit_secs_lrms);
  f("wall_limit_secs_lrms", j.wall_limit_secs_lrms);
  f("disk_limit_GB", j.disk_limit_GB);
  f("mem_limit_MB", j.mem_limit_MB);
  f("allocated_CPU", j.allocated_CPU);
}

// The two MJF sets of a slot, as found in the environment or given by an operator.
struct FeatureSources {
  std::optional<Location> machine;  // $MACHINEFEATURES
  std::optional<Location> job;      // $JOBFEATURES
  FetchOptions fetch;
};

struct Features {
  MachineFeatures machine;
  JobFeatures job;
};

// Reads every key of both sets. Missing keys, unusable values and unreachable servers are logged
// (unreachable and unreadable as warnings, unusable values as warnings naming key and source)
// and give absent keys; nothing throws. After the first connection-level failure of a URL the
// rest of its keys are not tried in this pass, so a hanging server costs one timeout, not one
// per key.
Features read_features(const FeatureSources& sources, const log::Logger& log);

// Re-reads shutdowntime and shutdowntime_job into `features` with the last-good rule above.
void refresh_dynamic(Features& features, const FeatureSources& sources, const log::Logger& log);

}  // namespace pilot::mjf
