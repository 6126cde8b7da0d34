#pragma once
// The job record, `job.json` in the job directory: written atomically (temporary file, fsync,
// rename) at every state change, so whoever reads it later (a pilot restarted after this one was
// SIGKILLed) sees a consistent, honest state. Other modules add their own data under `extra`.
//

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobwrapper/watchdog.hpp"

namespace pilot::jobwrapper {

inline constexpr const char* kJobRecordName = "job.json";
// Space kept in the job directory for the wrapper's own last words: a payload that fills the disk
// must not cost the final job record. Released when the job is finished, by its supervisor or by
// the pilot that recovers it.
inline constexpr const char* kReserveName = ".pilot-disk-reserve";

// prepared -> running -> [stopping] -> finished.
enum class JobState { prepared, running, stopping, finished };

// How a finished job ended; none until it has.
enum class Outcome {
  none,
  success,        // exit 0
  failed,         // non-zero exit, or a signal the wrapper did not send
  killed,         // a watchdog check stopped it
  stopped,        // a stop was requested and the payload ended
  launch_failed,  // the payload could not be started
  lost,           // its pilot was lost; finished by a later one (finish_lost_job)
  not_started,    // its pilot was lost before the payload started, or it never could start
};

// The words job.json uses ("finished", "launch_failed"; Outcome::none is "").
std::string_view to_string(JobState state);
std::string_view to_string(Outcome outcome);
// Throw pilot::Error naming the word when it is none of those.
JobState job_state_from_string(std::string_view word);
Outcome outcome_from_string(std::string_view word);

struct CheckEvent {
  std::string at;  // UTC ISO 8601
  Reason reason;
  std::string detail;
  bool kill = true;
};

struct SignalEvent {
  std::string at;
  std::string signal;  // "SIGINT"
  std::string target;  // "group", "tree"
  std::size_t processes = 0;
};

struct StreamRecord {
  std::string path;  // as left in the job directory (".zst" once compressed)
  std::uint64_t bytes = 0;
  std::uint64_t dropped_bytes = 0;
};

nlohmann::ordered_json to_json(const StreamRecord& s);
// Throws pilot::Error starting with `where` when a field has the wrong type.
StreamRecord stream_record_from_json(const nlohmann::json& j, const std::string& where);

struct JobRecord {
  std::string job_id;
  JobState state = JobState::prepared;
  Outcome outcome = Outcome::none;
  std::vector<std::string> argv;
  std::string workdir;
  std::string marker;
  std::string tracking;  // "cgroup2 <dir>", "cgroup1 <dir>" or "proc"
  pid_t pilot_pid = 0;
  pid_t pid = 0;
  pid_t keeper_pid = 0;  // the payload's keeper (keeper.hpp)
  std::string prepared_at, started_at, stop_requested_at, finished_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<Reason> reason;
  std::string reason_detail;
  std::string error;  // launch or supervision failure
  std::vector<CheckEvent> checks;
  std::vector<SignalEvent> signals_sent;
  double wall_seconds = 0;
  double cpu_seconds = 0;
  double cpu_user_seconds = 0;
  double cpu_system_seconds = 0;
  std::uint64_t max_pss_bytes = 0;
  std::uint64_t max_rss_bytes = 0;
  std::uint64_t max_vsize_bytes = 0;
  std::optional<std::uint64_t> cgroup_max_memory_bytes;
  std::optional<std::uint64_t> oom_kills;
  StreamRecord stdout_log;
  StreamRecord stderr_log;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

nlohmann::ordered_json to_json(const JobRecord& r);
// Throws pilot::Error naming the field that is missing or of the wrong type.
JobRecord job_record_from_json(const nlohmann::json& j);

void save_job_record(const std::filesystem::path& workdir, const JobRecord& r);
// nullopt when the directory has no job.json; pilot::Error naming the file when it is garbage.
std::optional<JobRecord> load_job_record(const std::filesystem::path& workdir);

// A record of a started payload without its pid (the pilot died between starting the payload and
// saving the record) gets the pid of the payload's group leader, found by the job's marker.
// True when the record was changed; the caller saves it.
bool find_unrecorded_payload(JobRecord& r, const std::filesystem::path& proc_root);

// What a shell would report: the exit code, or 128 + the signal; 127 for a launch failure.
int shell_status(const JobRecord& r);

// Current UTC time as "2026-11-25T10:43:20.123Z".
std::string utc_now();
// The inverse: seconds since the epoch, nullopt for text that is not such a time.
std::optional<double> utc_epoch(std::string_view text);

}  // namespace pilot::jobwrapper
