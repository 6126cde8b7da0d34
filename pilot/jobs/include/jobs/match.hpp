#pragma once
// Whether this node may run a job: what DIRAC's Matcher decides on the server, done by the pilot
// itself for job sources without a server (the local queue).
//
// Rules, in the order they are checked (the first failing one is the reason):
//   runtime   a job that needs DIRAC (needs_dirac_runtime) needs an offer with dirac_runtime
//   site      the job's Site list (absent or "ANY": any) holds the offer's site; BannedSites don't
//   jobtype   if the offer lists JobType (extra["JobType"], a string or list), it holds the job's
//   platform  one of the job's Platform values (absent or "ANY": any) is accepted by the
//             composition's check (platform compatibility lives in platform/)
//   cputime   the job's CPUTime (DIRAC's default 86400 when absent) fits the CPU work left;
//             an offer with cpu_work_left_hs06s <= 0 does not know it and does not limit
//   processors  the job's minimum fits the free processors; a WholeNode job needs a whole-node
//   offer memory    the job's MaxRAM fits the offer's max_ram_mb (0: unknown, no limit) tags every
//   job tag is offered, and every RequiredTag of the offer is a job tag. Like the
//             Matcher, offers imply "MultiProcessor", "<N>Processors" (2..free), "WholeNode" and
//             "<N>GB" (1..MaxRAM/1024) tags, and multi-processor jobs carry "MultiProcessor"
//             and "<N>Processors" tags.

#include <functional>
#include <string>
#include <vector>

#include "jobs/job_description.hpp"
#include "jobs/job_source.hpp"

namespace pilot::jobs {

// True when the node can run binaries built for `required_platform` (a DIRAC platform string).
using PlatformCheck = std::function<bool(const std::string& required_platform)>;

struct MatchResult {
  bool matched = false;
  std::string reason;  // why not, for logs: "CPUTime 86400 exceeds the CPU work left 5000"
  int processors = 0;  // when matched: processors to give the job (min..max within the offer)
};

// `platform_ok` may be empty: then a platform must equal `request.platform` exactly.
MatchResult match_job(const JobDescription& job, const ResourceRequest& request,
                      const PlatformCheck& platform_ok);

// The tags an offer stands for, explicit and implied (see above).
std::vector<std::string> offered_tags(const ResourceRequest& request);
// The tags a job stands for, explicit and implied.
std::vector<std::string> job_tags(const JobDescription& job);

}  // namespace pilot::jobs
