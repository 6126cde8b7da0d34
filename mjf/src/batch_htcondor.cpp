// HTCondor: the job and machine ClassAd files HTCondor writes for every job. The wall limit is
// site-specific: MaxRuntime (seconds, e.g. CERN) or MaxWallTimeMins (glideinWMS/CMS) counted
// from JobCurrentStartDate or JobStartDate.

#include "batch_providers.hpp"
#include "mjf/batch_parsers.hpp"
#include "mjf/value.hpp"

namespace pilot::mjf::detail {
namespace {

using Ad = std::map<std::string, std::string, std::less<>>;

std::optional<std::int64_t> ad_integer(const Ad& ad, std::string_view key) {
  auto it = ad.find(key);
  if (it == ad.end()) return std::nullopt;
  return parse_integer(it->second);
}

std::optional<std::string> htcondor_job_id(const Environment& env) {
  if (!env_value(env, "_CONDOR_JOB_AD")) return std::nullopt;
  std::vector<std::string> ignored;
  auto text = read_env_file(env, "_CONDOR_JOB_AD", ignored);
  if (!text) return std::string();
  auto ad = parse_classad(*text);
  if (auto it = ad.find("globaljobid"); it != ad.end() && !it->second.empty()) return it->second;
  auto cluster = ad_integer(ad, "clusterid"), proc = ad_integer(ad, "procid");
  if (cluster && proc) return std::to_string(*cluster) + "." + std::to_string(*proc);
  return std::string();
}

BatchLimits htcondor_limits(const std::string&, const Environment& env, const BatchQuery&) {
  BatchLimits out;
  if (auto text = read_env_file(env, "_CONDOR_MACHINE_AD", out.problems)) {
    auto ad = parse_classad(*text);
    if (auto mb = ad_integer(ad, "memory"); mb && *mb > 0) out.memory_bytes = *mb << 20;
  }
  auto text = read_env_file(env, "_CONDOR_JOB_AD", out.problems);
  if (!text) return out;
  auto ad = parse_classad(*text);
  auto start = ad_integer(ad, "jobcurrentstartdate");
  if (!start) start = ad_integer(ad, "jobstartdate");
  std::optional<std::int64_t> limit = ad_integer(ad, "maxruntime");
  if (!limit)
    if (auto mins = ad_integer(ad, "maxwalltimemins")) limit = *mins * 60;
  if (start && limit && *limit > 0) out.end_time = *start + *limit;
  if (!limit)
    out.problems.push_back("the job ad has no MaxRuntime or MaxWallTimeMins");
  else if (!start)
    out.problems.push_back("the job ad has no JobStartDate");
  return out;
}

}  // namespace

const BatchProvider kHtcondor{"htcondor", htcondor_job_id, htcondor_limits};

}  // namespace pilot::mjf::detail
