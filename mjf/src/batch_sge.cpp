// SGE / Grid Engine: `qstat -j $JOB_ID`; limits h_rt/s_rt and h_cpu/s_cpu (the earlier wins),
// usage wallclock and cpu.

#include <algorithm>

#include "batch_providers.hpp"
#include "mjf/batch_parsers.hpp"

namespace pilot::mjf::detail {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;

std::optional<std::string> sge_job_id(const Environment& env) {
  // JOB_ID alone is too common a name; SGE always sets SGE_ROOT or SGE_TASK_ID beside it.
  if (!env_value(env, "SGE_ROOT") && !env_value(env, "SGE_TASK_ID") && !env_value(env, "SGE_CELL"))
    return std::nullopt;
  return env_value(env, "JOB_ID");
}

// The earliest of the hard and soft limits named `a` or `b` (e.g. h_rt and s_rt).
std::optional<std::int64_t> min_limit(const Map& kv, std::string_view a, std::string_view b) {
  std::optional<std::int64_t> out;
  for (std::string_view list : {"hard resource_list.", "soft resource_list."}) {
    for (std::string_view key : {a, b}) {
      auto it = kv.find(std::string(list) + std::string(key));
      if (it == kv.end()) continue;
      if (auto v = parse_clock_duration(it->second)) out = std::min(out.value_or(*v), *v);
    }
  }
  return out;
}

BatchLimits sge_limits(const std::string& job_id, const Environment& env, const BatchQuery& query) {
  BatchLimits out;
  auto text = run_helper({"qstat", "-j", job_id}, env, query, out);
  if (!text) return out;
  auto kv = parse_qstat_j(*text);
  auto used = [&](std::string_view key) -> std::optional<std::int64_t> {
    auto it = kv.find("usage." + std::string(key));
    if (it == kv.end()) return std::nullopt;
    return parse_clock_duration(it->second);
  };
  if (auto wall = min_limit(kv, "h_rt", "s_rt")) {
    if (auto w = used("wallclock"))
      out.end_time = query.now + (*wall - *w);
    else
      out.problems.push_back("qstat -j " + job_id + " shows no wallclock usage");
  }
  if (auto cpu = min_limit(kv, "h_cpu", "s_cpu"))
    out.cpu_seconds_left = *cpu - used("cpu").value_or(0);
  if (auto it = kv.find("hard resource_list.h_vmem"); it != kv.end())
    out.memory_bytes = parse_size(it->second);
  return out;
}

}  // namespace

const BatchProvider kSge{"sge", sge_job_id, sge_limits};

}  // namespace pilot::mjf::detail
