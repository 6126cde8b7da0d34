// Slurm: SLURM_JOB_END_TIME when the Slurm release sets it (not 22.05), else `squeue %L`, else
// `scontrol show job` EndTime=. Memory from SLURM_MEM_PER_NODE / SLURM_MEM_PER_CPU (MB).

#include "batch_providers.hpp"
#include "mjf/batch_parsers.hpp"
#include "mjf/value.hpp"

namespace pilot::mjf::detail {
namespace {

std::optional<std::string> slurm_job_id(const Environment& env) {
  if (auto id = env_value(env, "SLURM_JOB_ID")) return id;
  return env_value(env, "SLURM_JOBID");
}

std::optional<std::int64_t> slurm_memory(const Environment& env) {
  constexpr std::int64_t mb = 1 << 20;
  if (auto v = env_value(env, "SLURM_MEM_PER_NODE"))
    if (auto n = parse_integer(*v); n && *n > 0) return *n * mb;
  auto per_cpu = env_value(env, "SLURM_MEM_PER_CPU");
  auto cpus = env_value(env, "SLURM_CPUS_ON_NODE");
  if (per_cpu && cpus) {
    auto a = parse_integer(*per_cpu), b = parse_integer(*cpus);
    if (a && b && *a > 0 && *b > 0) return *a * *b * mb;
  }
  return std::nullopt;
}

BatchLimits slurm_limits(const std::string& job_id, const Environment& env,
                         const BatchQuery& query) {
  BatchLimits out;
  out.memory_bytes = slurm_memory(env);
  if (auto v = env_value(env, "SLURM_JOB_END_TIME")) {
    if (auto end = parse_integer(*v)) {
      out.end_time = end;
      return out;
    }
    out.problems.push_back("SLURM_JOB_END_TIME='" + *v + "' is not an epoch time");
  }
  if (job_id.empty()) {
    out.problems.push_back("no SLURM_JOB_ID to ask Slurm about");
    return out;
  }
  if (auto text = run_helper({"squeue", "-h", "-j", job_id, "-o", "%L"}, env, query, out)) {
    if (auto left = parse_squeue_time_left(*text)) {
      out.unlimited = left->unlimited;
      if (left->seconds) out.end_time = query.now + *left->seconds;
      return out;
    }
    out.problems.push_back("squeue gave no time left for job " + job_id + ": '" +
                           text->substr(0, 80) + "'");
  }
  if (auto text = run_helper({"scontrol", "show", "job", "-o", job_id}, env, query, out)) {
    if (auto end = parse_scontrol_end_time(*text)) {
      out.unlimited = end->unlimited;
      out.end_time = end->epoch;
      return out;
    }
    out.problems.push_back("scontrol show job " + job_id + " has no usable EndTime");
  }
  return out;
}

}  // namespace

const BatchProvider kSlurm{"slurm", slurm_job_id, slurm_limits};

}  // namespace pilot::mjf::detail
