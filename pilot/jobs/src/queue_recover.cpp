// Jobs left in running/ by a pilot that died: requeue them (or fail them once they have been
// rescheduled too often), as DIRAC does with stalled jobs.

#include <sys/stat.h>

#include "core/error.hpp"
#include "jobs/local_queue.hpp"
#include "queue_store.hpp"

namespace pilot::jobs {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

namespace {

// When the job last gave a sign of life: every report rewrites status.json.
std::optional<Clock::time_point> last_report(const fs::path& dir) {
  struct stat st {};
  if (::stat((dir / "status.json").c_str(), &st) != 0 && ::stat(dir.c_str(), &st) != 0)
    return std::nullopt;
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

void remove_stale_staging(const fs::path& root) {
  // Submissions that crashed before their rename: never acknowledged with an id, so never a job.
  std::error_code ec;
  auto cutoff = Clock::now() - std::chrono::hours(1);
  for (const auto& e : fs::directory_iterator(root / "tmp", ec)) {
    auto seen = last_report(e.path());
    if (seen && *seen < cutoff) fs::remove_all(e.path(), ec);
  }
}

// The jobs in running/, in id order.
std::vector<std::string> running_ids(const fs::path& root) {
  std::error_code ec;
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(root / "running", ec))
    if (queue::is_job_id(e.path().filename().string())) ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

struct RunningJob {
  nlohmann::json status;
  std::optional<queue::Owner> owner;
};

// A status that cannot be read is started afresh: the job is still recovered, with the problem.
RunningJob read_running(const fs::path& dir, const std::string& id, Clock::time_point now) {
  RunningJob job;
  try {
    job.status = queue::read_status(dir);
    job.owner = queue::owner_from_json(job.status.value("owner", nlohmann::json()));
  } catch (const Error& e) {
    job.status = queue::new_status(id, "", "", now);
    job.status["problems"].push_back(e.what());
  }
  return job;
}

std::chrono::seconds report_age(const fs::path& dir, Clock::time_point now) {
  auto seen = last_report(dir);
  return seen ? std::chrono::duration_cast<std::chrono::seconds>(now - *seen)
              : std::chrono::seconds(0);
}

// Requeues the job, fails it (rescheduled too often) or, when the operator asked to kill it,
// marks it killed; then moves it out of running/. Only the verdict when dry.
void settle(const fs::path& root, const fs::path& dir, nlohmann::json& status,
            const RecoverOptions& options, Clock::time_point now, RecoverAction& a) {
  std::error_code ec;
  int reschedules = queue::status_count(status, "reschedules");
  bool killed = fs::exists(dir / "kill", ec);  // the operator wanted it stopped anyway
  bool fail = killed || reschedules >= options.max_reschedules;
  a.verdict = std::string(options.dry_run ? "would be " : "") + (killed ? "killed"
                                                                 : fail ? "failed"
                                                                        : "requeued");
  if (options.dry_run) return;
  std::string lost = "pilot " + (a.owner.empty() ? std::string("?") : a.owner) + " lost";
  if (killed) {
    status["owner"] = nullptr;
    status["processors"] = nullptr;
    queue::apply_status(status, {"Killed", "Killed by operator", "", now, "pilot queue recover"});
    status["problems"].push_back(lost + ": " + a.reason);
    status["finished"] = queue::utc_text(now);
  } else {
    queue::reschedule(status, lost, lost + ": " + a.reason, options.max_reschedules, now,
                      "pilot queue recover");
  }
  queue::write_status(dir, status);
  if (!queue::rename_if_present(dir, root / (fail ? "done" : "pending") / a.id)) {
    a.verdict = "gone";
    a.reason = "left running/ while being recovered";
  }
}

RecoverAction recover_job(const fs::path& root, const std::string& id,
                          const RecoverOptions& options, Clock::time_point now) {
  auto dir = root / "running" / id;
  RecoverAction a{id, "", "", "", {}};
  auto job = read_running(dir, id, now);
  auto liveness = queue::Liveness::dead;
  if (job.owner) {
    a.owner = job.owner->host + ":" + std::to_string(job.owner->pid);
    liveness = queue::owner_liveness(*job.owner, options.proc_root, &a.reason);
  } else {
    a.reason = "no owner recorded";
    if (options.ownerless && !options.ownerless->count(id)) {
      a.verdict = "unknown";
      return a;
    }
  }
  auto age = report_age(dir, now);
  a.reason += "; last report " + std::to_string(age.count()) + " s ago";
  if (liveness == queue::Liveness::alive) {
    a.verdict = "alive";
    return a;
  }
  if (liveness == queue::Liveness::dead && job.owner && !job.owner->workdir.empty() &&
      options.held_by_job_dir) {
    if (auto why = options.held_by_job_dir(job.owner->workdir, id)) {
      a.verdict = "held";
      a.reason += "; " + *why;
      a.pilot_workdir = job.owner->workdir;
      return a;
    }
  }
  if (liveness == queue::Liveness::unknown && !(options.older_than && age >= *options.older_than)) {
    a.verdict = "unknown";
    a.reason +=
        options.older_than ? " (not older than the limit)" : " (use --older-than to act on it)";
    return a;
  }
  settle(root, dir, job.status, options, now, a);
  return a;
}

}  // namespace

std::vector<RecoverAction> recover_jobs(const fs::path& root, const RecoverOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(root / "running", ec))
    throw Error("queue directory " + root.string() + " has no running/ directory");
  std::vector<RecoverAction> actions;
  auto now = Clock::now();
  for (const auto& id : running_ids(root)) actions.push_back(recover_job(root, id, options, now));
  if (!options.dry_run) remove_stale_staging(root);
  return actions;
}

}  // namespace pilot::jobs
