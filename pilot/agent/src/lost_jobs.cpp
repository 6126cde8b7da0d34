#include "lost_jobs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent/job_dirs.hpp"
#include "agent/job_plan.hpp"
#include "core/error.hpp"
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

  // Never throws: what cannot be recovered is logged and left in place.
  void recover_dir_safely(const fs::path& dir) {
    try {
      if (!lock(dir)) {
        c_.log.info("a job directory is being recovered by another pilot", {{"dir", dir.string()}});
        return;
      }
      recover_dir(dir);
    } catch (const std::exception& e) {
      c_.log.warn("cannot recover a job directory", {{"dir", dir.string()}, {"error", e.what()}});
    }
  }

 private:
  // Two pilots may recover the same directory (one restarted on it, one on another work
  // directory): the first to lock it does. The lock is held until this pilot ends, as its
  // reports of the job go out later; the kernel releases it when the pilot dies.
  bool lock(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw_errno("cannot open " + dir.string(), errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return false;
      throw_errno("cannot lock " + dir.string(), errno);
    }
    c_.locks.push_back(std::move(fd));
    return true;
  }

  // Idempotent: a pilot killed while recovering or filing a job leaves job.json saying what it
  // decided (outcome lost or not_started, the MC result), and the next one decides the same.
  void recover_dir(const fs::path& dir) {
    auto rec = jw::load_job_record(dir);
    if (!rec || !rec->extra.contains("agent") || rec->extra["agent"].contains("reported")) return;
    if (rec->state != jw::JobState::finished) {
      if (c_.adopt && c_.adopt(dir, *rec)) return;
      rec = mc::recover_job(dir, c_.grace_s, c_.proc_root, c_.log);
    }
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
    auto fr = final_report(rec, r, c_.cpu_power_hs06, recorded_processors(rec));
    count_outcome(c_.summary, fr);
    c_.log.warn(lost ? "reporting a job recovered from a lost pilot"
                     : "reporting a finished job its lost pilot did not report",
                {{"job_id", rec.job_id}, {"events", fr.events}});
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

// The source's own recovery, on its worker after the reports posted so far (so the jobs just
// recovered here are filed first); waited for, as what it returns is recovered here next.
std::vector<jobs::OrphanJob> source_orphans(const LostJobsContext& c) {
  try {
    return c.worker.call([&source = c.worker.source()] { return source.recover_orphans(); });
  } catch (const std::exception& e) {
    c.log.warn("cannot recover the jobs of lost pilots",
               {{"source", c.worker.source().describe()}, {"error", e.what()}});
    return {};
  }
}

void recover_lost_jobs(const LostJobsContext& c) {
  LostJobs lost(c);
  std::error_code ec;
  for (auto it = fs::directory_iterator(c.workdir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->is_directory() && is_job_dir_name(it->path().filename().string()))
      lost.recover_dir_safely(it->path());
  }
  remove_abandoned_cgroups(c);
  // Lost pilots of this node that worked elsewhere (a pilot restarted on a new work directory):
  // their jobs are recovered from there, as this pilot's own would be.
  for (const auto& o : source_orphans(c)) {
    c.log.warn("recovering a lost pilot's job from its work directory",
               {{"job_id", o.id}, {"workdir", o.pilot_workdir.string()}});
    lost.recover_dir_safely(job_dir(o.pilot_workdir, o.id));
  }
}

}  // namespace pilot::agent
