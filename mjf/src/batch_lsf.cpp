// LSF: `bjobs -W $LSB_JOBID`; FINISH_TIME is LSF's estimate from the run limit.

#include "batch_providers.hpp"
#include "mjf/batch_parsers.hpp"

namespace pilot::mjf::detail {
namespace {

std::optional<std::string> lsf_job_id(const Environment& env) {
  if (auto id = env_value(env, "LSB_JOBID")) return id;
  return env_value(env, "LSB_BATCH_JID");
}

BatchLimits lsf_limits(const std::string& job_id, const Environment& env, const BatchQuery& query) {
  BatchLimits out;
  auto text = run_helper({"bjobs", "-W", job_id}, env, query, out);
  if (!text) return out;
  auto row = parse_bjobs_w(*text);
  auto it = row.find("FINISH_TIME");
  if (it == row.end()) {
    out.problems.push_back("bjobs -W " + job_id + " printed no job row");
  } else if (it->second == "-") {
    // No run limit: LSF does not stop the job on time.
    out.unlimited = true;
  } else if (auto end = parse_lsf_time(it->second, query.now)) {
    out.end_time = end;
  } else {
    out.problems.push_back("bjobs -W " + job_id + ": unreadable FINISH_TIME '" + it->second + "'");
  }
  return out;
}

}  // namespace

const BatchProvider kLsf{"lsf", lsf_job_id, lsf_limits};

}  // namespace pilot::mjf::detail
