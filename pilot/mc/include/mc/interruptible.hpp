#pragma once
// Interruptible Monte Carlo on top of the job wrapper: the number of events is sized (or given)
// before the payload starts and handed to it (PILOT_NUMBER_OF_EVENTS, and the @{NumberOfEvents}
// placeholder in its arguments); while it runs, its checkpoint file is mirrored durably into
// job.json and a deadline (MJF shutdown, batch or wall limit) stops it gracefully in time; when it
// ends, the events it made are counted from its XML summary or its last checkpoint. A pilot that
// died mid-job leaves enough in the job directory for the next one to report those events.
//
// Everything the pilot knows about an MC job lives in job.json under extra.mc:
//   {"events_requested": N, "sizing": {...}, "checkpoint_file": "...", "summary_file": "...",
//    "workflow_step": false, "checkpoint": {"events": n, "outputs": [...], "at": "..."}, "result":
//    {...}}

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/job_spec.hpp"
#include "jobwrapper/supervisor.hpp"
#include "mc/checkpoint.hpp"
#include "mc/event_sizing.hpp"
#include "mjf/budget.hpp"

namespace pilot::mc {

inline constexpr const char* kEventsPlaceholder = "@{NumberOfEvents}";
inline constexpr const char* kCheckpointName = "pilot-checkpoint.txt";

struct McOptions {
  std::optional<std::int64_t> events;  // a fixed number (pilot exec --events)
  std::optional<SizingInputs> sizing;  // else sized from the budget (CPUe, power, time left)
  std::string summary_file;            // JDL XMLSummaryFile; empty: summary*.xml
  // The MC application is a step of a DIRAC workflow: dirac-jobexec dies of the stop signal (or
  // exits 1 on SIGINT) without waiting for its step, so its own end says nothing; the step's
  // finalised summary after a stop request makes the job an interrupted success.
  bool workflow_step = false;
};

struct McJob {
  std::int64_t events_requested = 0;
  int stop_signal = 0;
  std::filesystem::path checkpoint_file;
  std::string summary_file;
  bool workflow_step = false;
  nlohmann::json sizing;  // null for a fixed number
  std::optional<Checkpoint> last;
};

// Sizes the job (throws pilot::Error "No time left to produce events" when nothing fits, before
// anything is started), sets the payload's PILOT_NUMBER_OF_EVENTS and PILOT_CHECKPOINT_FILE,
// and replaces @{NumberOfEvents} in its arguments.
McJob prepare_mc(jobwrapper::JobSpec& spec, const McOptions& options);

// Writes the MC section (request, sizing, last checkpoint) into the record's extras; the caller
// saves the record.
void record_mc(jobwrapper::JobRecord& record, const McJob& job);
// The inverse, for a job a lost pilot prepared: the MC section as it was recorded. Throws
// pilot::Error naming the record's field that is missing or of the wrong type.
McJob mc_job_from_record(const jobwrapper::JobRecord& record);

// Reads the checkpoint file; when it moved on, mirrors it into job.json (durably) and returns
// true. A malformed checkpoint is logged and ignored: the last good one is kept.
bool mirror_checkpoint(jobwrapper::Supervisor& supervisor, McJob& job, const log::Logger& logger);

// The moment by which a payload must have stopped, and what sets it: the slot's end (one or
// several coinciding budget deadlines, "shutdowntime_job,shutdowntime") or a fixed limit of
// `pilot exec` ("time_left", "wall_limit").
struct StopBy {
  std::chrono::system_clock::time_point at;
  std::string source;
};
// The slot's end from the budget's earliest deadline(s); nullopt when none is known.
std::optional<StopBy> slot_end(const mjf::ResourceBudget& budget);

// When to stop a payload gracefully: once the time left is below the grace the payload needs
// plus one check period (DIRAC's StopSig rule, without its 30-minute delay after the start: an
// early reclaim must still save the events made so far).
bool time_to_stop(const StopBy& stop_by, double grace_s, double period_s,
                  std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct McResult {
  std::optional<std::int64_t> events;
  std::string events_source;  // "summary", "checkpoint" or "" (nothing known)
  bool finalised = false;     // the payload finalised its output (summary finalize + full)
  bool interrupted = false;   // stopped early on request
  bool success = false;       // a normal or interrupted-but-finalised job
  std::vector<std::string> outputs;
  std::string detail;  // "interrupted after 120 events", ...
};
nlohmann::json to_json(const McResult& r);
// The inverse of to_json; absent fields keep McResult's defaults. Throws pilot::Error when the
// events are not a count, nlohmann's type errors for another field of the wrong type.
McResult mc_result_from_json(const nlohmann::json& j);

// The result kept in job.json (extra.mc.result), written by whoever collected it and read by
// whoever reports the job, possibly a later pilot. The caller saves the record.
void store_result(jobwrapper::JobRecord& record, const McResult& result);
std::optional<McResult> stored_result(const jobwrapper::JobRecord& record);

// Classifies a finished job: exit 0, or 128 + its stop signal after a stop request, with a
// finalised summary or a checkpoint, is a success; anything else reports the last checkpointed
// count as such. For a workflow step (extra.mc.workflow_step) the launcher's end after a stop
// request does not count: a finalised summary makes it an interrupted success.
McResult collect_mc(const jobwrapper::JobRecord& record, int stop_signal,
                    const std::string& summary_file);

// For a job directory whose job.json is not finished because the pilot died: the events the
// payload left (summary or checkpoint file, else the count mirrored in job.json), interrupted,
// and a success when any are known (what a lost pilot's job made is reported). nullopt when the
// directory has no MC job record.
std::optional<McResult> recover_mc(const std::filesystem::path& workdir);

// Finishes the job a lost pilot left in `workdir` (jobwrapper::finish_lost_job) with the MC
// job's own stop signal, and keeps as the MC result (store_result) the events its payload left
// (recover_mc) or, for a payload that ended by itself, what collect_mc makes of its end.
// nullopt when there is no record or it is already finished.
std::optional<jobwrapper::JobRecord> recover_job(const std::filesystem::path& workdir,
                                                 double grace_s,
                                                 const std::filesystem::path& proc_root,
                                                 const log::Logger& logger);

}  // namespace pilot::mc
