#include "agent/job_dirs.hpp"

#include "jobwrapper/job_record.hpp"
#include "jobwrapper/lost_job.hpp"

namespace pilot::agent {
namespace jw = pilot::jobwrapper;

namespace {
constexpr std::string_view kJobDirPrefix = "job_";
}

std::filesystem::path job_dir(const std::filesystem::path& workdir, const std::string& id) {
  return workdir / (std::string(kJobDirPrefix) + id);
}

bool is_job_dir_name(const std::string& name) {
  return name.size() > kJobDirPrefix.size() && name.starts_with(kJobDirPrefix);
}

std::optional<std::string> lost_job_held(const std::filesystem::path& pilot_workdir,
                                         const std::string& id,
                                         const std::filesystem::path& proc_root) {
  auto dir = job_dir(pilot_workdir, id);
  std::optional<jw::JobRecord> rec;
  try {
    rec = jw::load_job_record(dir);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!rec || !rec->extra.contains("agent") || rec->extra["agent"].contains("reported"))
    return std::nullopt;
  if (auto running = jw::lost_payload_state(*rec, dir, proc_root))
    return *running + " in " + dir.string();
  if (rec->state == jw::JobState::finished)
    return "its result in " + dir.string() + " is not reported yet";
  if (rec->pid > 0) return "its payload started in " + dir.string() + ": what it made is reported";
  return std::nullopt;
}

}  // namespace pilot::agent
