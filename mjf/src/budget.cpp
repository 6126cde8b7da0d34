#include "mjf/budget.hpp"

#include <algorithm>
#include <cmath>

namespace pilot::mjf {
namespace {

std::optional<double> per_processor(std::optional<double> hs06, std::optional<std::int64_t> n) {
  if (!hs06 || !n || *hs06 <= 0 || *n <= 0) return std::nullopt;
  return *hs06 / static_cast<double>(*n);
}

void cpu_power(const Observation& obs, const Config& config, ResourceBudget& b) {
  const auto& m = obs.mjf.machine;
  const auto& j = obs.mjf.job;
  if (auto p = per_processor(j.hs06_job, j.allocated_cpu)) {
    b.cpu_power_hs06 = p;
    b.cpu_power_source = "mjf_job";
  } else if (auto p = per_processor(m.hs06, m.total_cpu)) {
    b.cpu_power_hs06 = p;
    b.cpu_power_source = "mjf_machine";
  } else {
    std::optional<std::int64_t> cores;
    if (m.log_cores || m.phys_cores)
      cores = std::max(m.log_cores.value_or(0), m.phys_cores.value_or(0));
    std::optional<std::int64_t> slots = m.jobslots;
    std::optional<std::int64_t> divisor =
        cores && slots ? std::min(*cores, *slots) : (cores ? cores : slots);
    if (auto p = per_processor(m.hs06, divisor)) {
      b.cpu_power_hs06 = std::round(*p * 100.0) / 100.0;
      b.cpu_power_source = "mjf_legacy";
    } else if (config.cpu_power_hs06 && *config.cpu_power_hs06 > 0) {
      b.cpu_power_hs06 = config.cpu_power_hs06;
      b.cpu_power_source = "config";
    }
  }
}

void processors(const Observation& obs, const Config& config, ResourceBudget& b) {
  const auto& j = obs.mjf.job;
  if (j.allocated_cpu && *j.allocated_cpu > 0) {
    b.processors = j.allocated_cpu;
    b.processors_source = "allocated_cpu";
  } else if (j.allocated_CPU && *j.allocated_CPU > 0) {
    b.processors = j.allocated_CPU;
    b.processors_source = "allocated_CPU";
  } else if (obs.batch_processors) {
    b.processors = obs.batch_processors->count;
    b.processors_source = obs.batch_processors->source;
  } else if (config.processors && *config.processors > 0) {
    b.processors = config.processors;
    b.processors_source = "config";
  }
}

void memory(const Observation& obs, const Config& config, ResourceBudget& b) {
  const auto& j = obs.mjf.job;
  if (j.max_rss_bytes && *j.max_rss_bytes > 0) {
    b.memory_limit_bytes = j.max_rss_bytes;
    b.memory_limit_source = "max_rss_bytes";
  } else if (j.mem_limit_MB && *j.mem_limit_MB > 0 && *j.mem_limit_MB < (INT64_MAX >> 20)) {
    b.memory_limit_bytes = *j.mem_limit_MB << 20;
    b.memory_limit_source = "mem_limit_MB";
  } else if (obs.batch_limits && obs.batch_limits->memory_bytes) {
    b.memory_limit_bytes = obs.batch_limits->memory_bytes;
    b.memory_limit_source = "batch";
  } else if (config.memory_limit_bytes && *config.memory_limit_bytes > 0) {
    b.memory_limit_bytes = config.memory_limit_bytes;
    b.memory_limit_source = "config";
  }
}

void wall_time(const Observation& obs, const Config& config, std::int64_t now, ResourceBudget& b) {
  const auto& j = obs.mjf.job;
  auto& d = b.deadlines;
  if (j.jobstart_secs && j.wall_limit_secs) {
    d.push_back({Limit::wall_limit, *j.jobstart_secs + *j.wall_limit_secs});
  } else if (obs.batch_limits && obs.batch_limits->end_time) {
    d.push_back({Limit::batch, *obs.batch_limits->end_time});
  } else if (config.wall_limit_secs) {
    d.push_back({Limit::config, config.started_at + *config.wall_limit_secs});
  }
  if (j.shutdowntime_job) d.push_back({Limit::shutdowntime_job, *j.shutdowntime_job});
  if (obs.mjf.machine.shutdowntime)
    d.push_back({Limit::shutdowntime, *obs.mjf.machine.shutdowntime});
  if (obs.shutdown_file) d.push_back({Limit::shutdown_file, *obs.shutdown_file});
  // Stable: on a tie the slot's own limit is named before an announced shutdown, and the job's
  // shutdown before the machine's.
  std::stable_sort(d.begin(), d.end(),
                   [](const SlotDeadline& a, const SlotDeadline& c) { return a.epoch < c.epoch; });
  if (d.empty()) return;
  b.wall_seconds_left = d.front().epoch - now;
  for (const auto& e : d)
    if (e.epoch == d.front().epoch) b.limited_by.push_back(e.source);
}

void cpu_time(const Observation& obs, ResourceBudget& b) {
  const auto& j = obs.mjf.job;
  auto limit = j.cpu_limit_secs ? j.cpu_limit_secs : j.cpu_limit_secs_lrms;
  if (limit)
    b.cpu_seconds_left = *limit - obs.cpu_used_secs.value_or(0);
  else if (obs.batch_limits && obs.batch_limits->cpu_seconds_left)
    b.cpu_seconds_left = obs.batch_limits->cpu_seconds_left;
}

}  // namespace

std::string_view limit_name(Limit limit) {
  switch (limit) {
    case Limit::wall_limit:
      return "wall_limit";
    case Limit::shutdowntime_job:
      return "shutdowntime_job";
    case Limit::shutdowntime:
      return "shutdowntime";
    case Limit::shutdown_file:
      return "shutdown_file";
    case Limit::batch:
      return "batch";
    case Limit::config:
      return "config";
  }
  return "unknown";
}

std::string limit_names(const std::vector<Limit>& limits) {
  std::string out;
  for (auto l : limits) {
    if (!out.empty()) out += ',';
    out += limit_name(l);
  }
  return out;
}

bool needs_batch_limits(const Features& mjf) {
  return !(mjf.job.jobstart_secs && mjf.job.wall_limit_secs);
}

ResourceBudget compute_budget(const Observation& obs, const Config& config, std::int64_t now) {
  ResourceBudget b;
  wall_time(obs, config, now, b);
  cpu_time(obs, b);
  processors(obs, config, b);
  memory(obs, config, b);
  cpu_power(obs, config, b);
  if (b.cpu_power_hs06) {
    std::optional<std::int64_t> secs = b.wall_seconds_left;
    if (b.cpu_seconds_left)
      secs = std::min(secs.value_or(*b.cpu_seconds_left), *b.cpu_seconds_left);
    if (secs)
      b.cpu_work_left_hs06s =
          static_cast<double>(std::max<std::int64_t>(*secs, 0)) * *b.cpu_power_hs06;
  }
  if (obs.mjf.job.shutdowntime_job) b.shutdowns_announced.push_back(Limit::shutdowntime_job);
  if (obs.mjf.machine.shutdowntime) b.shutdowns_announced.push_back(Limit::shutdowntime);
  if (obs.shutdown_file) b.shutdowns_announced.push_back(Limit::shutdown_file);
  b.draining = obs.drain_file;
  return b;
}

}  // namespace pilot::mjf
