#pragma once
// A job whose pilot was lost (job.json not finished): whatever of its payload still runs (found
// by its recorded pid, or by its marker when the pid was never recorded, and by its cgroup) gets
// the stop signal on its process group once, then after the grace SIGKILL with the rest of its
// tree; the record is completed and saved in one write (state finished, the signals sent, outcome
// "not_started" for a payload never recorded nor found, else "lost", with
// extra.lost_pilot.payload_found_by_marker when it was found by its marker), and the job
// directory's disk reserve released. What the payload made is for the caller's hook to add (MC:
// the events), before the save. Whoever reads the record next decides from it alone.

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

// Whether the recovery found the payload by its marker: caught as it started, its pid unrecorded.
bool payload_found_by_marker(const JobRecord& record);

}  // namespace pilot::jobwrapper
