#include "lost_jobs.hpp"

#include <signal.h>
#include <unistd.h>

#include "agent/job_plan.hpp"
#include "core/fs.hpp"
#include "jobs/job_description.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/lost_job.hpp"
#include "mc/interruptible.hpp"
#include "summary.hpp"

namespace pilot::agent {
namespace jw = pilot::jobwrapper;
namespace fs = std::filesystem;

namespace {

class LostJobs {
 public:
  explicit LostJobs(const LostJobsContext& c) : c_(c) {}

  // Idempotent: a pilot killed while recovering or filing a job leaves job.json saying what it
  // decided (outcome lost or not_started, the MC result), and the next one decides the same.
  void recover_dir(const fs::path& dir) {
    auto rec = jw::load_job_record(dir);
    if (!rec || !rec->extra.contains("agent") || rec->extra["agent"].contains("reported")) return;
    if (rec->state != jw::JobState::finished)
      rec = mc::recover_job(dir, c_.grace_s, c_.proc_root, c_.log);
    if (!rec) return;
    if (rec->outcome == jw::Outcome::not_started)
      return hand_back(dir, *rec, "Pilot lost before the payload started");
    bool lost = rec->outcome == jw::Outcome::lost;
    bool caught_starting = jw::payload_found_by_marker(*rec);
    auto r = mc_result(*rec);
    // A lost payload that made nothing worth reporting runs again instead: one caught as it
    // started, or an MC payload stopped before its first event.
    bool made_nothing = !(r && r->events.value_or(0) > 0);
    if (lost && made_nothing && (caught_starting || rec->extra.contains("mc")))
      return hand_back(dir, *rec,
                       caught_starting ? "Pilot lost as the payload started"
                                       : "Pilot lost before the first event");
    report(dir, *rec, r, lost);
  }

 private:
  // The MC result kept in job.json (a lost job's by recover_job); for a job that finished but
  // whose pilot died before keeping it, classified as that pilot would have.
  static std::optional<mc::McResult> mc_result(const jw::JobRecord& rec) {
    if (!rec.extra.contains("mc")) return std::nullopt;
    if (auto r = mc::stored_result(rec)) return r;
    const auto& m = rec.extra["mc"];
    return mc::collect_mc(rec, m.value("stop_signal", SIGINT), m.value("summary_file", ""));
  }

  void report(const fs::path& dir, jw::JobRecord& rec, const std::optional<mc::McResult>& r,
              bool lost) {
    ++c_.summary.jobs_recovered;
    if (r && r->events) c_.summary.events += *r->events;
    int processors = rec.extra.contains("agent") ? rec.extra["agent"].value("processors", 1) : 1;
    auto fr = final_report(rec, r, c_.cpu_power_hs06, processors);
    count_outcome(c_.summary, fr);
    c_.log.warn(lost ? "reporting a job recovered from a lost pilot"
                     : "reporting a finished job its lost pilot did not report",
                {{"job_id", rec.job_id}, {"events", fr.events.value_or(-1)}});
    auto last = fr.statuses.back();
    fr.statuses.pop_back();
    for (auto& u : fr.statuses) c_.worker.status(rec.job_id, u);
    c_.worker.final_report(
        rec.job_id, fr.parameters,
        jobs::FinishedJob{dir, nlohmann::json(jw::to_json(rec)), recovered_description(dir), last});
  }

  // A lost pilot's job that produced nothing runs again. A source that requeues such jobs itself
  // (recover_orphans) gets nothing reported and the directory is kept aside for the record; DIRAC
  // is told "Rescheduled" and JobManager.rescheduleJob, as its JobAgent does for a job it could
  // not start.
  void hand_back(const fs::path& dir, const jw::JobRecord& rec, const std::string& why) {
    if (c_.worker.source().requeues_unstarted_jobs()) {
      auto aside = dir.parent_path() /
                   ("lost_" + dir.filename().string() + "_" + std::to_string(::getpid()));
      fs::rename(dir, aside);
      c_.log.warn("a lost pilot's job goes back to the job source",
                  {{"job_id", rec.job_id}, {"dir", aside.string()}, {"why", why}});
      return;
    }
    ++c_.summary.jobs_recovered;
    ++c_.summary.jobs_rescheduled;
    c_.log.warn("a lost pilot's job is rescheduled", {{"job_id", rec.job_id}, {"why", why}});
    c_.worker.final_report(
        rec.job_id, {},
        jobs::FinishedJob{dir, nlohmann::json(jw::to_json(rec)), recovered_description(dir),
                          jobs::StatusUpdate{"Rescheduled", "", why,
                                             std::chrono::system_clock::now(), c_.agent_source}});
  }

  // The description saved with a lost pilot's job (job.jdl), when it is still readable.
  std::optional<jobs::JobDescription> recovered_description(const fs::path& jobdir) {
    try {
      if (auto text = read_file(jobdir / "job.jdl"))
        return jobs::parse_job_description(*text, (jobdir / "job.jdl").string());
    } catch (const std::exception& e) {
      c_.log.warn("the recovered job's description cannot be read: its outputs are not delivered",
                  {{"dir", jobdir.string()}, {"error", e.what()}});
    }
    return std::nullopt;
  }

  const LostJobsContext& c_;
};

// What a lost pilot's recorded jobs did not account for: the job cgroups it made and never
// recorded, once they are empty.
void remove_abandoned_cgroups(const LostJobsContext& c) {
  auto place = jw::find_own_cgroup_place(c.cgroup_root, c.proc_root);
  if (!place) return;
  for (const auto& dir : jw::remove_abandoned_job_cgroups(*place, c.proc_root))
    c.log.info("removed a lost pilot's empty job cgroup", {{"cgroup", dir.string()}});
}

}  // namespace

void recover_lost_jobs(const LostJobsContext& c) {
  LostJobs lost(c);
  std::error_code ec;
  for (auto it = fs::directory_iterator(c.workdir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (!it->is_directory() || !it->path().filename().string().starts_with("job_")) continue;
    try {
      lost.recover_dir(it->path());
    } catch (const std::exception& e) {
      c.log.warn("cannot recover a job directory",
                 {{"dir", it->path().string()}, {"error", e.what()}});
    }
  }
  remove_abandoned_cgroups(c);
  c.worker.post([&source = c.worker.source(), log = c.log] {
    try {
      source.recover_orphans();
    } catch (const std::exception& e) {
      log.warn("cannot recover the jobs of lost pilots",
               {{"source", source.describe()}, {"error", e.what()}});
    }
  });
}

}  // namespace pilot::agent
