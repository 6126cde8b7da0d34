#pragma once
// Jobs a lost pilot left in this work directory (job_<id>/ with a job.json the agent wrote):
// the unfinished ones whose payload still runs are adopted where the agent can (`adopt`), the
// other unfinished ones are finished (their payload stopped, their events counted), every job not
// marked as reported is reported (a pilot killed during its final report left it finished but
// unreported), and a lost job that made nothing is handed back to run again; empty job cgroups a
// lost pilot made but never recorded are removed. Then the source recovers what it knows was lost
// before it left any trace here (recover_orphans), and the jobs it says lost pilots of this node
// left in other work directories are recovered from there, the same way.

#include <filesystem>
#include <functional>
#include <string>

#include "agent/agent.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "jobwrapper/job_record.hpp"
#include "source_worker.hpp"

namespace pilot::agent {

struct LostJobsContext {
  std::filesystem::path workdir;
  std::filesystem::path proc_root;  // where the lost payloads are looked for
  double grace_s = 30;              // what a lost payload gets between its stop signal and SIGKILL
  double cpu_power_hs06 = 0;        // for the CPU normalisation of the reports
  std::string agent_source;         // the Source of the JobAgent's reports
  log::Logger log;
  SourceWorker& worker;
  AgentSummary& summary;         // recovered jobs are counted here
  std::vector<UniqueFd>& locks;  // the job directories this pilot recovers, locked for its life
  // Takes over an unfinished job whose payload still runs; false: it is stopped and filed as
  // lost. Unset: none is adopted.
  std::function<bool(const std::filesystem::path& dir, const jobwrapper::JobRecord& record)> adopt;
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";  // where their job cgroups are
};

// Never throws for one job directory: what cannot be recovered is logged and left in place.
void recover_lost_jobs(const LostJobsContext& context);

}  // namespace pilot::agent
