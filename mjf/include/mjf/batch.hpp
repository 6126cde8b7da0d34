#pragma once
// What the batch system says about the job when MJF does not: which system and job this is, when
// the job's wall time ends (re-queried at every check: Slurm's limit can change with
// `scontrol update`), CPU seconds left and the memory limit, and the processors the job owns.
// The environment is passed in as a map (never read from globals here); helper commands (squeue,
// scontrol, qstat, bjobs) are looked up in that environment's PATH, run with a timeout, and their
// failure is reported in `problems`, never thrown.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::mjf {

using Environment = std::map<std::string, std::string, std::less<>>;

// A snapshot of a process environment ("KEY=value" strings, e.g. `environ`).
Environment environment_of(char** envp);

struct BatchJob {
  std::string system;  // "slurm", "htcondor", "pbs", "lsf", "sge"
  std::string job_id;  // empty when the system is known but its id could not be read
};

struct BatchLimits {
  std::optional<std::int64_t> end_time;  // epoch seconds when the job's wall time ends
  bool unlimited = false;                // the batch system says the job has no wall limit
  std::optional<std::int64_t> cpu_seconds_left;
  std::optional<std::int64_t> memory_bytes;
  std::vector<std::string> problems;  // commands that failed or timed out, unreadable files
};

struct BatchQuery {
  std::chrono::milliseconds timeout{10000};  // per helper command
  // The wall clock (epoch seconds) at the query: "time left" answers become end times with it.
  std::int64_t now = 0;
};

// One batch system. Plain functions, so a provider is a row in a table.
struct BatchProvider {
  std::string_view name;
  // The job id when the environment shows a job of this system (nullopt: not this system).
  std::optional<std::string> (*job_id)(const Environment& env);
  BatchLimits (*limits)(const std::string& job_id, const Environment& env, const BatchQuery& query);
};

// Slurm, HTCondor, PBS/Torque, LSF, SGE: the order in which the environment is checked.
std::span<const BatchProvider> batch_providers();

std::optional<BatchJob> detect_batch_job(const Environment& env);

// Asks the job's batch system; an unknown system name gives a problem, not an exception.
BatchLimits query_batch_limits(const BatchJob& job, const Environment& env,
                               const BatchQuery& query);

struct EnvProcessors {
  std::int64_t count = 0;
  std::string source;  // the variable it came from, e.g. "SLURM_CPUS_ON_NODE"
};

// Processors from the batch environment in glideinWMS order: _CONDOR_MACHINE_AD `Cpus`,
// PBS_NUM_PPN, PBS_NP, LSB_MCPU_HOSTS (the first host's count), SLURM_CPUS_ON_NODE,
// SLURM_CPUS_PER_TASK, SLURM_JOB_CPUS_PER_NODE (first entry), then SGE's NSLOTS. Values that are
// not positive integers are skipped.
std::optional<EnvProcessors> processors_from_environment(const Environment& env);

}  // namespace pilot::mjf
