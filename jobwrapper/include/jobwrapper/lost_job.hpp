#pragma once
// A job whose pilot was lost (job.json not finished). Its payload is found by its recorded pid,
// else by its keeper's record or its marker (extra.lost_pilot.payload_found_by_marker: caught as
// it started), and its cgroup. One still running gets the stop signal on its process group once,
// then after the grace SIGKILL with the rest of its tree; one that exited by itself while its
// pilot was gone (its keeper recorded the exit code) only has its leftovers terminated, and one
// killed by a signal then is taken as killed with its pilot (a slot killed whole): lost. Its keeper
// is let finish the payload's streams. The record is completed and saved in one write: state
// finished, the signals sent, the keeper's exit, CPU and streams, and the outcome:
//   not_started  never recorded nor found;
//   success/failed/stopped/killed  exited by itself, as its pilot would have recorded it (its
//                   exit code, the stop its pilot had asked for;
//                   extra.lost_pilot.payload_ended_alone);
//   lost  stopped here, or gone without a word.
// The job directory's disk reserve is released. What the payload made is for the caller's hook to
// add (MC: the events), before the save. Whoever reads the record next decides from it alone.

#include <filesystem>
#include <functional>
#include <optional>

#include "core/log.hpp"
#include "jobwrapper/job_record.hpp"

namespace pilot::jobwrapper {

inline constexpr const char* kLostPilotKey = "lost_pilot";

struct LostJobHooks {
  // The signal that asks this payload to stop gracefully; unset: SIGINT (Gaudi's).
  std::function<int(const JobRecord&)> stop_signal;
  // Adds what the payload left to the record, once it has stopped.
  std::function<void(JobRecord&)> complete;
};

// nullopt when `workdir` has no record or its job has finished. Throws pilot::Error when the
// record cannot be read or saved.
std::optional<JobRecord> finish_lost_job(const std::filesystem::path& workdir, double grace_s,
                                         const std::filesystem::path& proc_root,
                                         const log::Logger& logger, const LostJobHooks& hooks = {});

// What the payload of a lost pilot's unfinished job is doing, nullopt when it is gone without a
// word: it ended by itself (its keeper recorded how), its keeper still runs, its tree still runs
// (by the recorded pid and marker), or it runs without a recorded pid (by its marker). Reads
// only; signals nothing.
std::optional<std::string> lost_payload_state(const JobRecord& record,
                                              const std::filesystem::path& workdir,
                                              const std::filesystem::path& proc_root);

// Why a lost pilot's unfinished job cannot be adopted (Supervisor::adopt), nullopt when it can:
// it was not being stopped, and its keeper, recorded for this job, still runs with the payload it
// started. Reads only.
std::optional<std::string> adoption_refusal(const JobRecord& record,
                                            const std::filesystem::path& workdir,
                                            const std::filesystem::path& proc_root);

// Whether the recovery found the payload by its marker: caught as it started, its pid unrecorded.
bool payload_found_by_marker(const JobRecord& record);

}  // namespace pilot::jobwrapper
