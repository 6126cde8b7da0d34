// A lost pilot's job whose payload still runs, taken over where the slot leaves it time: the
// payload is not disturbed, and this pilot supervises, reports and files it as its own. What
// cannot be adopted is left to the lost-job recovery, which stops the payload gracefully.

#include "agent_loop.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/job_description.hpp"
#include "jobwrapper/lost_job.hpp"

namespace pilot::agent {
namespace jw = pilot::jobwrapper;

bool Agent::adopt_job(const std::filesystem::path& dir, const jw::JobRecord& rec) {
  if (auto why = adoption_refusal(dir, rec)) {
    log_.info("a lost pilot's job is not adopted", {{"job_id", rec.job_id}, {"why", *why}});
    return false;
  }
  std::unique_ptr<RunningJob> job;
  try {
    job = adopted_job(dir, rec);
  } catch (const std::exception& e) {
    log_.warn("a lost pilot's job cannot be adopted",
              {{"job_id", rec.job_id}, {"dir", dir.string()}, {"error", e.what()}});
    return false;
  }
  if (!source_adopts(rec.job_id, dir)) return false;
  try {
    supervise_adopted(std::move(job), rec);
  } catch (const std::exception& e) {
    // Nothing was changed on the node: the recovery stops it and files it as lost.
    log_.error("adopting a lost pilot's job failed",
               {{"job_id", rec.job_id}, {"dir", dir.string()}, {"error", e.what()}});
    return false;
  }
  return true;
}

// Adopted only what can run to its end here: not a job someone asked to kill (the recovery files
// it as killed), nor one the slot's end would stop at once.
std::optional<std::string> Agent::adoption_refusal(const std::filesystem::path& dir,
                                                   const jw::JobRecord& rec) const {
  if (stopping_ || reclaiming_) return "this pilot is stopping";
  auto agent = rec.extra.find("agent");
  if (agent == rec.extra.end() || !agent->is_object()) return "no pilot of this kind ran it";
  if (agent->contains("kill_received")) return "it was to be killed";
  if (auto end = slot_end(); end && mc::time_to_stop(*end, grace_s(), poll_period()))
    return "the slot ends before it could (" + end->source + ")";
  return jw::adoption_refusal(rec, dir, s_.proc_root);
}

// The job as its lost pilot launched it: its description, its processors, its limits under this
// pilot's budget, and for MC the sizing it was given.
std::unique_ptr<RunningJob> Agent::adopted_job(const std::filesystem::path& dir,
                                               const jw::JobRecord& rec) {
  auto job = std::make_unique<RunningJob>();
  job->id = rec.job_id;
  auto jdl = dir / "job.jdl";
  auto text = read_file(jdl);
  if (!text) throw Error(jdl.string() + " is missing");
  job->description = jobs::parse_job_description(*text, jdl.string());
  job->processors = recorded_processors(rec);
  std::int64_t memory = slots_.memory_for(job->description.max_ram_mb);
  if (!slots_.fits(job->processors, memory))
    throw Error(std::to_string(job->processors) + " processors needed, " +
                std::to_string(slots_.free_processors()) + " free");
  auto spec =
      make_job_spec(job->description, rec.job_id, s_.config, dir, job->processors, budget_view());
  if (rec.extra.contains("mc")) {
    job->mc.emplace(spec, rec, log_.child("job"));
    spec.stop_signal = job->mc->job().stop_signal;
  }
  auto hooks = job_hooks(*job);
  job->supervisor = std::make_unique<jw::Supervisor>(ctx_, std::move(spec), std::move(hooks),
                                                     log_.child("job " + rec.job_id));
  return job;
}

// The source's own record of the job follows (the local queue's owner): asked on its worker.
bool Agent::source_adopts(const std::string& id, const std::filesystem::path& dir) {
  try {
    if (worker_.call([&] { return s_.source->adopt_job(id, dir); })) return true;
    log_.info("the job source does not hand the lost pilot's job over",
              {{"job_id", id}, {"source", s_.source->describe()}});
  } catch (const std::exception& e) {
    log_.warn("the job source cannot hand the lost pilot's job over",
              {{"job_id", id}, {"error", e.what()}});
  }
  return false;
}

void Agent::supervise_adopted(std::unique_ptr<RunningJob> job, const jw::JobRecord& rec) {
  auto id = job->id;
  auto& sup = *job->supervisor;
  sup.adopt(rec);
  ++summary_.jobs_recovered;
  ++summary_.jobs_adopted;
  slots_.take(id, job->processors, slots_.memory_for(job->description.max_ram_mb));
  // Its lost pilot died before it reported the start: reported now, as it would have.
  if (rec.state == jw::JobState::prepared) {
    worker_.status(id, {"", "Application", "", {}, kWrapperSource});
    worker_.parameters(id, job_start_parameters(sup.record().pid, node_parameters_, "/"));
  }
  // Who runs the job now (DIRAC's StalledJobAgent looks at Pilot_Reference).
  auto p = initial_job_parameters(pilot_facts(), job->description);
  p.insert(p.end(), node_parameters_.begin(), node_parameters_.end());
  worker_.parameters(id, std::move(p));
  log_.warn("adopted a lost pilot's running job",
            {{"job_id", id}, {"pid", sup.record().pid}, {"dir", sup.record().workdir}});
  jobs_[id] = std::move(job);
}

}  // namespace pilot::agent
