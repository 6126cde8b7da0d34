#pragma once
// The on-disk pieces of the local queue shared by the pilot side and the operator commands:
// directory names, ids, status.json reads and writes, and who owns a running job.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "jobs/job_source.hpp"

namespace pilot::jobs::queue {

namespace fs = std::filesystem;

inline constexpr const char* kStates[] = {"pending", "running", "done"};

// Makes the four subdirectories (and the root when `create_root`); throws naming the path.
void ensure_layout(const fs::path& root, bool create_root);

std::string new_job_id(std::chrono::system_clock::time_point now);
bool is_job_id(std::string_view id);
// Throws pilot::Error when `id` is not a queue id.
void check_job_id(std::string_view id);

// "2026-11-25T11:02:03.123456Z"
std::string utc_text(std::chrono::system_clock::time_point t);

// The state directory holding job `id`, or nullopt.
std::optional<std::string> find_state(const fs::path& root, const std::string& id);

nlohmann::json read_status(const fs::path& job_dir);  // throws naming the file
void write_status(const fs::path& job_dir, const nlohmann::json& status);

// Appends a history entry and updates the current status fields (empty fields: unchanged).
void apply_status(nlohmann::json& status, const StatusUpdate& update);
// Whether the job's final status, outputs and logs are in its directory ("finished" set): a job
// found in running/ so was filed by a pilot that died before moving it to done/.
bool filed(const nlohmann::json& status);
// A count status.json keeps ("reschedules", a heartbeat's "count"): 0 when absent or not a count
// (a damaged file is not a reason to lose the job).
int status_count(const nlohmann::json& object, const char* key);
// A job given back (its pilot was lost, or its payload asked for it): it goes back to pending/
// as Waiting, "Rescheduled: <why>", or fails once it has been rescheduled `max_reschedules` times
// (DIRAC's MaxRescheduling), with `problem` kept. The owner is cleared either way. True when the
// job is to be requeued.
bool reschedule(nlohmann::json& status, const std::string& why, const std::string& problem,
                int max_reschedules, std::chrono::system_clock::time_point now,
                const std::string& source);
nlohmann::json new_status(const std::string& id, const std::string& job_name,
                          const std::string& executable, std::chrono::system_clock::time_point now);

// The identity of a process, precise enough to tell a live owner from a reused pid.
struct Owner {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat
  std::string boot_id;
  std::string workdir;  // where the pilot keeps its job directories; empty: not known
};
Owner self_owner(const fs::path& proc_root);
std::string host_name();
nlohmann::json owner_json(const Owner& o, std::chrono::system_clock::time_point claimed);
std::optional<Owner> owner_from_json(const nlohmann::json& j);

enum class Liveness { alive, dead, unknown };
// dead: same host and the process is gone, its pid was reused, or the host rebooted;
// unknown: another host.
Liveness owner_liveness(const Owner& owner, const fs::path& proc_root, std::string* why);

// rename(2) that reports a lost race (source gone, target taken) as false instead of throwing.
bool rename_if_present(const fs::path& from, const fs::path& to);

}  // namespace pilot::jobs::queue

namespace pilot::jobs::queue {

// InputSandbox of a local job: plain files or directories, stored under <job dir>/input/.
// Throws pilot::Error naming the entry for SB:/LFN: references and missing files.
void store_input_files(const JobDescription& job, const std::filesystem::path& base,
                       const std::filesystem::path& job_dir);
// Copies <job dir>/input/* into `workdir`. Throws JobPreparationError("Failed Downloading
// InputSandbox", ...) when an entry is an SB:/LFN: reference or was not stored.
void copy_input_files(const JobDescription& job, const std::filesystem::path& job_dir,
                      const std::filesystem::path& workdir);

}  // namespace pilot::jobs::queue
