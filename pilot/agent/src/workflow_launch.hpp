#pragma once
// A job that needs DIRAC (jobs::needs_dirac_runtime) made into the launch JobWrapper gives it
// (dirac/workflow_job.hpp): its DIRAC configuration written to <jobdir>/dirac.cfg, the command
// resolved in the pilot's DIRAC runtime, the workflow's environment, and the check that nothing
// the workflow needs is missing. Private to the agent module.

#include "agent/agent.hpp"
#include "agent/job_plan.hpp"
#include "jobwrapper/job_spec.hpp"

namespace pilot::agent {

// The configuration file's name in the job directory.
inline constexpr const char* kWorkflowCfgName = "dirac.cfg";

// Rewrites `spec` (argv, environment) for `job`. Throws jobs::JobPreparationError: "Application
// not found" without a runtime, "Job Wrapper Initialization" naming everything the workflow would
// miss (it would exit 0 and report nothing) or a configuration the cfg format cannot carry.
void prepare_workflow(jobwrapper::JobSpec& spec, const jobs::JobDescription& job,
                      const AgentSetup& setup, const BudgetView& budget);

}  // namespace pilot::agent
