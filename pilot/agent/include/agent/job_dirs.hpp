#pragma once
// Where the agent keeps a job, and what a lost pilot's job directory still holds: the one owner
// of the job directory's name, for the agent, the queue's recovery (jobs::HeldByJobDir) and
// `pilot queue recover`.

#include <filesystem>
#include <optional>
#include <string>

namespace pilot::agent {

// <workdir>/job_<id>.
std::filesystem::path job_dir(const std::filesystem::path& workdir, const std::string& id);
bool is_job_dir_name(const std::string& name);

// Why job `id` in the work directory of a lost pilot still needs that directory, nullopt when it
// does not: its payload (its keeper, its recorded or marked processes) still runs, it ended or
// started and what it made is not reported yet. A job whose payload never started, or whose
// result was reported, needs nothing there. An unreadable record needs nothing either: no pilot
// could recover it.
std::optional<std::string> lost_job_held(const std::filesystem::path& pilot_workdir,
                                         const std::string& id,
                                         const std::filesystem::path& proc_root);

}  // namespace pilot::agent
