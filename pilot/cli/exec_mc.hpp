#pragma once
// The interruptible-MC part of `pilot exec`: options, sizing before the start, checkpoint
// mirroring and deadline stops while the payload runs, and the result in the final record.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/log.hpp"
#include "jobwrapper/supervisor.hpp"
#include "mc/interruptible.hpp"
#include "mc/mc_run.hpp"
#include "mjf/watcher.hpp"

namespace pilot::cli {

struct McExecOptions {
  std::int64_t events = 0;      // --events
  double cpue = 0;              // --cpue (HS06 s per event): size from the budget
  std::int64_t max_events = 0;  // --max-events
  double cpu_power = 0;         // --cpu-power (HS06 per processor)
  double time_left = 0;         // --time-left (s): the slot's remaining time
  double watch_period = 10;     // --watch-period (s): MJF/batch re-checks
  std::string summary_file;     // --summary-file
  bool recover = false;         // --recover
  bool enabled() const { return events > 0 || cpue > 0; }
};

void add_mc_options(CLI::App* sub, McExecOptions& o);

// The MC state of one `pilot exec` run; inactive when no MC option was given.
class McExec {
 public:
  // Sizes and prepares `spec` (throws "No time left to produce events" before anything starts).
  McExec(const McExecOptions& o, jobwrapper::JobSpec& spec, log::Logger logger);
  // Wraps the supervisor hooks (mc::McRun): checkpoint mirroring, the deadline (--time-left,
  // --wall-limit or the slot's end) and the CPU limit on each poll, the result when the job
  // finishes. `sup` is set once the supervisor exists.
  void install(jobwrapper::Hooks& hooks, jobwrapper::Supervisor*& sup);
  void record_start(jobwrapper::Supervisor& sup);
  // The fields `pilot exec --json` adds: events, events_source, interrupted, outputs.
  void add_to_output(nlohmann::ordered_json& out, const jobwrapper::JobRecord& rec) const;

 private:
  std::optional<mc::StopBy> current_stop_by();

  std::optional<mc::McRun> run_;
  std::optional<mc::StopBy> fixed_stop_by_;  // --time-left or --wall-limit
  std::unique_ptr<mjf::Watcher> watcher_;    // MJF and the batch system: the slot's own end
  std::unique_ptr<mjf::WatcherThread> watcher_thread_;
  std::mutex budget_mutex_;
  std::optional<mjf::ResourceBudget> budget_;
  double watch_period_ = 10;
  log::Logger logger_;
};

// `pilot exec --recover --workdir DIR`: finishes and prints the job a lost pilot left there.
// `proc_root`: where the payload is looked for, the one `pilot exec` runs payloads under.
int recover_exec(const std::string& workdir, const std::filesystem::path& proc_root, double grace_s,
                 bool json, log::Logger logger);

}  // namespace pilot::cli
