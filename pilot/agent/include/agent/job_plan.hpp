#pragma once
// Turning a matched job into something to run, and its end into what to report: pure functions
// over the job description, the configuration and the job wrapper's record, so the rules are
// tested without running anything.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/config.hpp"
#include "jobs/job_description.hpp"
#include "jobs/job_source.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/job_spec.hpp"
#include "mc/interruptible.hpp"

namespace pilot::agent {

// Splits DIRAC's Arguments string the way a POSIX shell splits words (single and double quotes,
// backslash escapes), without running a shell. Throws pilot::Error for an unterminated quote.
std::vector<std::string> split_arguments(const std::string& arguments);

struct BudgetView {  // what the agent knows about the slot when a job starts
  std::optional<double> wall_seconds_left;
  std::string wall_source;
  std::optional<double> cpu_power_hs06;
  std::string cpu_power_source;
  std::optional<double> grace_s;  // MJF grace_secs_job / grace_secs
};

// The job wrapper's input for a job: argv, job directory, environment (built, never the pilot's
// credentials), watchdog limits, stop signal and grace, logs.
jobwrapper::JobSpec make_job_spec(const jobs::JobDescription& job, const std::string& job_id,
                                  const Config& config, const std::filesystem::path& jobdir,
                                  int processors, const BudgetView& budget);

// The MC options of a job with CPUe (sized from the budget) or nullopt for other jobs. Throws
// pilot::Error when an MC job cannot be sized (no CPU power known).
std::optional<mc::McOptions> mc_options(const jobs::JobDescription& job, const BudgetView& budget,
                                        int processors);

// What the job's main process is: a plain payload, or DIRAC's workflow engine (dirac-jobexec),
// which reports the job's ApplicationStatus itself and whose exit code stands for its steps.
// Kept in job.json (extra.agent.payload), so a pilot recovering the job reports it the same way.
enum class PayloadKind { plain, dirac_workflow };
std::string_view to_string(PayloadKind kind);
PayloadKind payload_kind(const jobs::JobDescription& job);
// What the agent recorded; plain for a record without it (written before it was kept).
PayloadKind payload_kind(const jobwrapper::JobRecord& record);

// A payload exiting with this code asks for its job to be rescheduled (DIRAC's EWMSRESC & 255):
// the last status is then "Rescheduled" and the job source gives the job back.
inline constexpr int kRescheduleExitCode = 222;

// What to report when a job has ended, as DIRAC's JobWrapper reports it (for a workflow job also
// what its exit means, as ApplicationError; its own ApplicationStatus stands, except after an
// interruption, which the pilot reports as for any MC payload): the statuses in order
// (an empty status where it reports only a minor status; a failed job ends with a second Failed
// record without minor status, as JobWrapper.finalize sends it), the last one going with the
// outputs.
struct FinalReport {
  std::vector<jobs::StatusUpdate> statuses;  // in order
  std::vector<std::pair<std::string, std::string>> parameters;
  bool success = false;
  bool rescheduled = false;  // the payload asked for it: the job runs again elsewhere
  std::optional<std::int64_t> events;
};
FinalReport final_report(const jobwrapper::JobRecord& record, const std::optional<mc::McResult>& mc,
                         double cpu_power_hs06, int processors);
// The processors the job's pilot gave it (extra.agent.processors); 1 when the record has none
// or a damaged value.
int recorded_processors(const jobwrapper::JobRecord& record);

// What DIRAC's JobAgent and JobWrapper report about the pilot that runs a job.
struct PilotFacts {
  std::string pilot_reference;  // Pilot_Reference: StalledJobAgent checks this pilot is alive
  std::string grid_ce, ce_queue;
  std::string
      batch_system;  // BatchSystem as DIRAC names it ("SLURM", "HTCondor", ...); empty: none
  std::optional<double> cpu_normalization_factor;  // HS06 per processor, when known
  std::string pilot_agent;                         // PilotAgent: what runs the job ("pilot 0.1.0")
  long wrapper_pid = 0;                            // JobWrapperPID: the supervising process
};
// JobAgent, after the match: MatcherServiceTime, GridCE, CEQueue, BatchSystem (those known).
std::vector<std::pair<std::string, std::string>> job_received_parameters(const PilotFacts& facts,
                                                                         double match_seconds);
// JobWrapper.__setInitialJobParameters: Pilot_Reference, JobType, JobGroup,
// CPUNormalizationFactor, PilotAgent, JobWrapperPID.
std::vector<std::pair<std::string, std::string>> initial_job_parameters(
    const PilotFacts& facts, const jobs::JobDescription& job);
// The Watchdog's NodeInformation that holds for the pilot's life: HostName, LocalAccount,
// ModelName (root/proc/cpuinfo), LocalJobID (LSB/PBS/SGE variables of `env`, getenv's contract).
std::vector<std::pair<std::string, std::string>> node_parameters(
    const std::string& host_name, const std::filesystem::path& root,
    const std::function<const char*(const char*)>& env);
// What a started job adds: PayloadPID (when known), the node's parameters, and Memory(MB)
// available now (root/proc/meminfo).
std::vector<std::pair<std::string, std::string>> job_start_parameters(
    long payload_pid, const std::vector<std::pair<std::string, std::string>>& node,
    const std::filesystem::path& root);

// Whether the job source asked for the job to be killed (DIRAC's heartbeat reply {"Kill": ...}),
// as the agent records it in the job record (extra.agent.kill_received), so a pilot recovering
// the job reports it the same way.
bool kill_received(const jobwrapper::JobRecord& record);

}  // namespace pilot::agent
