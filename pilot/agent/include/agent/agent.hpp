#pragma once
// The agent: the job loop of `pilot run`. It asks the job source for work with the request
// strategies of a multi-processor pilot, runs each job under the job wrapper (several at once when
// the pilot owns several processors), forwards heartbeats and obeys the server's commands,
// reports the status flow and final parameters, and stops by the rules of the DIRAC pilot (failed
// matches, host failures, max jobs, CPU work left, drain, shutdown, lifetime). A reclaim (SIGTERM,
// SIGINT, SIGUSR1, SIGUSR2 to the pilot, an MJF shutdown that leaves no time) interrupts every
// running payload gracefully at once, reports them, and ends within the grace period.
//
// Threads: everything runs on one event loop, except calls to the job source (network), which run
// in order on one worker thread, and the MJF watcher, which polls on its own thread.

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/config.hpp"
#include "agent/loop_policy.hpp"
#include "core/log.hpp"
#include "dirac/runtime.hpp"
#include "jobs/job_source.hpp"
#include "jobwrapper/container.hpp"
#include "mjf/watcher.hpp"

namespace pilot::agent {

struct AgentSetup {
  Config config;
  std::unique_ptr<jobs::JobSource> source;
  jobs::ResourceRequest base_request;  // site, CE, platform, tags... (per-request fields are set)
  std::function<bool(const std::string&)> platform_ok;  // can this node run a job's Platform
  mjf::Watcher* watcher = nullptr;                      // the slot's budget; null: no limits known
  std::optional<jobwrapper::ContainerSpec> container;   // run payloads in this container
  std::optional<dirac::DiracRuntime> dirac_runtime;     // for jobs that need DIRAC; none: left
  std::filesystem::path workdir;              // absolute; job directories are created below it
  std::filesystem::path proc_root = "/proc";  // where a lost pilot's payloads are looked for
  std::string batch_system;  // DIRAC's name of the batch system running the pilot; empty: none
  std::string host_name;     // this node's name (job parameter HostName)
  log::Logger log;
  std::chrono::milliseconds watch_period{30000};
};

// Every job this pilot handled is counted once: matched by it or recovered from a lost pilot,
// and then in exactly one outcome (jobs_matched + jobs_recovered == succeeded + failed +
// rescheduled). jobs_started counts the matched jobs whose payload started.
struct AgentSummary {
  int jobs_matched = 0;
  int jobs_started = 0;
  int jobs_succeeded = 0;
  int jobs_failed = 0;
  int jobs_rescheduled = 0;  // handed back: exit code 222, or lost before they made anything
  int jobs_interrupted = 0;
  int jobs_recovered = 0;  // finished, reported or adopted for a lost pilot of this node
  int jobs_adopted = 0;    // of those, taken over while their payload ran, then run to their end
  std::size_t reports_refused = 0;  // reports the job source refused for good (kept on disk)
  // A stop signal came while the job source did not answer: the pilot ends without waiting,
  // its reports on disk; the caller must end the process before destroying the setup.
  bool reports_abandoned = false;
  std::int64_t events = 0;
  double cpu_seconds = 0;
  double processor_seconds = 0;  // wall x processors of every job
  double elapsed_seconds = 0;
  StopReason stop = StopReason::none;
  std::string stop_detail;
  std::vector<std::pair<std::string, double>> phases;  // name, seconds
};
nlohmann::json to_json(const AgentSummary& s);

// The signals that stop the agent: TERM, INT, USR1 (reclaim) and USR2.
sigset_t stop_signal_set();

// Runs until a stop rule or a reclaim ends the loop and every job has been reported. The stop
// signals must be blocked in the calling thread: the agent unblocks them once it handles them.
AgentSummary run_agent(AgentSetup& setup);

}  // namespace pilot::agent
