#include "jobs/match.hpp"

#include <algorithm>

#include "iequals.hpp"

namespace pilot::jobs {
namespace {

using detail::iequals;

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::any_of(list.begin(), list.end(), [&](const auto& x) { return iequals(x, item); });
}

void add(std::vector<std::string>& list, std::string item) {
  if (!contains(list, item)) list.push_back(std::move(item));
}

// A list that is empty or holds "ANY" puts no constraint.
bool unconstrained(const std::vector<std::string>& list) {
  return list.empty() || contains(list, "ANY");
}

std::string join(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& x : list) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::vector<std::string> json_strings(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_string()) out.push_back(j.get<std::string>());
  if (j.is_array())
    for (const auto& e : j)
      if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

std::vector<std::string> offered_tags(const ResourceRequest& request) {
  std::vector<std::string> tags;
  for (const auto& t : request.tags) add(tags, t);
  if (request.processors > 1) add(tags, "MultiProcessor");
  for (int n = 2; n <= request.processors; ++n) add(tags, std::to_string(n) + "Processors");
  if (request.whole_node) add(tags, "WholeNode");
  // Capped: a bogus MaxRAM must not make millions of tags.
  for (std::int64_t gb = 1; gb <= std::min<std::int64_t>(request.max_ram_mb / 1024, 16384); ++gb)
    add(tags, std::to_string(gb) + "GB");
  return tags;
}

std::vector<std::string> job_tags(const JobDescription& job) {
  std::vector<std::string> tags;
  for (const auto& t : job.tags) add(tags, t);
  if (job.min_processors > 1) {
    add(tags, "MultiProcessor");
    add(tags, std::to_string(job.min_processors) + "Processors");
  }
  return tags;
}

MatchResult match_job(const JobDescription& job, const ResourceRequest& request,
                      const PlatformCheck& platform_ok) {
  MatchResult r;
  auto no = [&](std::string why) {
    r.reason = std::move(why);
    return r;
  };

  if (needs_dirac_runtime(job.executable) && !request.dirac_runtime)
    return no("'" + job.executable + "' needs a DIRAC runtime and this pilot has none");
  if (!unconstrained(job.sites) && !contains(job.sites, request.site))
    return no("Site " + join(job.sites) + " does not include this site '" + request.site + "'");
  if (!request.site.empty() && contains(job.banned_sites, request.site))
    return no("this site '" + request.site + "' is in BannedSites");

  if (request.extra.is_object() && request.extra.contains("JobType")) {
    auto types = json_strings(request.extra["JobType"]);
    if (!types.empty() && !contains(types, job.job_type))
      return no("JobType '" + job.job_type + "' is not among the offered " + join(types));
  }

  if (!unconstrained(job.platforms)) {
    bool ok = std::any_of(job.platforms.begin(), job.platforms.end(), [&](const std::string& p) {
      return platform_ok ? platform_ok(p) : p == request.platform;
    });
    if (!ok)
      return no("Platform " + join(job.platforms) + " is not compatible with this node's '" +
                request.platform + "'");
  }

  if (request.cpu_work_left_hs06s > 0 && job.cpu_time_or_default() > request.cpu_work_left_hs06s)
    return no("CPUTime " + std::to_string(job.cpu_time_or_default()) +
              " HS06 s exceeds the CPU work left " + std::to_string(request.cpu_work_left_hs06s));

  if (job.whole_node() && !request.whole_node) return no("a WholeNode job needs a whole idle node");
  if (job.min_processors > request.processors)
    return no("needs " + std::to_string(job.min_processors) + " processors, " +
              std::to_string(request.processors) + " free");

  if (job.max_ram_mb && request.max_ram_mb > 0 && *job.max_ram_mb > request.max_ram_mb)
    return no("MaxRAM " + std::to_string(*job.max_ram_mb) + " MB exceeds the " +
              std::to_string(request.max_ram_mb) + " MB offered");

  auto offered = offered_tags(request);
  auto needed = job_tags(job);
  for (const auto& t : needed)
    if (!contains(offered, t)) return no("tag '" + t + "' is not offered");
  for (const auto& t : request.required_tags)
    if (!contains(needed, t)) return no("the offer requires tag '" + t + "'");

  r.matched = true;
  r.processors =
      job.whole_node() ? request.processors : std::min(job.max_processors, request.processors);
  return r;
}

}  // namespace pilot::jobs
