// PBS/Torque: `qstat -f $PBS_JOBID` gives limits (Resource_List.*) and usage (resources_used.*).

#include <algorithm>

#include "batch_providers.hpp"
#include "mjf/batch_parsers.hpp"

namespace pilot::mjf::detail {
namespace {

std::optional<std::string> pbs_job_id(const Environment& env) {
  return env_value(env, "PBS_JOBID");
}

std::optional<std::int64_t> duration(const std::map<std::string, std::string, std::less<>>& kv,
                                     std::string_view key) {
  auto it = kv.find(key);
  if (it == kv.end()) return std::nullopt;
  return parse_clock_duration(it->second);
}

BatchLimits pbs_limits(const std::string& job_id, const Environment& env, const BatchQuery& query) {
  BatchLimits out;
  auto text = run_helper({"qstat", "-f", job_id}, env, query, out);
  if (!text) return out;
  auto kv = parse_qstat_f(*text);
  auto wall = duration(kv, "Resource_List.walltime");
  auto wall_used = duration(kv, "resources_used.walltime").value_or(0);
  if (wall)
    out.end_time = query.now + (*wall - wall_used);
  else
    out.problems.push_back("qstat -f " + job_id + " shows no Resource_List.walltime");
  if (auto cput = duration(kv, "Resource_List.cput"))
    out.cpu_seconds_left = *cput - duration(kv, "resources_used.cput").value_or(0);
  for (std::string_view key : {"Resource_List.mem", "Resource_List.vmem"}) {
    if (auto it = kv.find(key); it != kv.end())
      if (auto bytes = parse_size(it->second)) {
        out.memory_bytes = std::min(out.memory_bytes.value_or(*bytes), *bytes);
      }
  }
  return out;
}

}  // namespace

const BatchProvider kPbs{"pbs", pbs_job_id, pbs_limits};

}  // namespace pilot::mjf::detail
