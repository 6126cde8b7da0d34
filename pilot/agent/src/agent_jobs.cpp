// One job from its match to its final report: checked against this pilot (description,
// platform, free slots), prepared by the source on the worker thread (downloads, credentials),
// run under the job wrapper with its heartbeats and the server's commands, then reported.

#include <unistd.h>

#include <boost/asio/post.hpp>

#include "agent/job_dirs.hpp"
#include "agent_loop.hpp"
#include "core/fs.hpp"
#include "core/trace.hpp"
#include "core/version.hpp"
#include "jobs/jdl.hpp"
#include "jobs/job_description.hpp"
#include "jobs/job_info.hpp"
#include "summary.hpp"
#include "workflow_launch.hpp"

namespace pilot::agent {
namespace asio = boost::asio;
namespace jw = pilot::jobwrapper;

std::string Agent::agent_source() const {
  return "JobAgent@" + s_.base_request.site;
}

PilotFacts Agent::pilot_facts() const {
  PilotFacts f;
  f.pilot_reference = s_.base_request.pilot_reference;
  f.grid_ce = s_.base_request.grid_ce;
  f.ce_queue = s_.base_request.ce_queue;
  f.batch_system = s_.batch_system;
  f.cpu_normalization_factor = budget_view().cpu_power_hs06;
  f.pilot_agent = "pilot " + version();
  f.wrapper_pid = ::getpid();
  return f;
}

// A job that ends before its payload started: its final status `u` goes with finish_job, after
// whatever the source still delivers for it.
void Agent::file_unstarted(const jobs::MatchedJob& m, const std::string& detail,
                           std::optional<jobs::JobDescription> description, jobs::StatusUpdate u) {
  u.application_status = detail.substr(0, 255);
  u.source = agent_source();
  worker_.finish_unstarted(
      m.id, jobs::FinishedJob{job_dir(s_.workdir, m.id),
                              nlohmann::json{{"state", "finished"},
                                             {"outcome", to_string(jw::Outcome::not_started)},
                                             {"error", detail}},
                              std::move(description), std::move(u)});
}

void Agent::fail_before_start(const jobs::MatchedJob& m, const std::string& minor,
                              const std::string& detail,
                              std::optional<jobs::JobDescription> description) {
  log_.error("job cannot run", {{"job_id", m.id}, {"reason", minor}, {"detail", detail}});
  ++summary_.jobs_failed;
  jobs::StatusUpdate u;
  u.status = "Failed";
  u.minor_status = minor;
  file_unstarted(m, detail, std::move(description), std::move(u));
}

// A job this pilot cannot run goes back to the source to run elsewhere, as DIRAC's JobAgent
// reschedules a job whose wrapper it could not set up.
void Agent::hand_back_unstarted(const jobs::MatchedJob& m, const std::string& why,
                                jobs::JobDescription description) {
  log_.warn("job handed back", {{"job_id", m.id}, {"why", why}});
  ++summary_.jobs_rescheduled;
  jobs::StatusUpdate u;
  u.status = "Rescheduled";
  file_unstarted(m, why, std::move(description), std::move(u));
}

void Agent::start_job(jobs::MatchedJob m) {
  trace::Phase timed("agent.start_job");
  log_.info("job matched", {{"job_id", m.id}});
  ++summary_.jobs_matched;
  // DIRAC's JobAgent: the job is received (its status stays Matched) and described.
  worker_.status(m.id, {"", "Job Received by Agent", "", {}, agent_source()});
  worker_.parameters(m.id, job_received_parameters(pilot_facts(), m.match_seconds));
  auto d = accept_job(m);
  if (!d) return;
  // Jobs that need DIRAC keep coming from a DIRAC server: this pilot stops asking.
  if (jobs::needs_dirac_runtime(d->executable) && !s_.dirac_runtime) {
    auto why = "'" + d->executable + "' needs a DIRAC runtime, this pilot has none";
    hand_back_unstarted(m, why, std::move(*d));
    return stop(StopReason::no_dirac_runtime, "job " + m.id + " needs DIRAC");
  }
  int processors = processors_for_job(
      d->min_processors == d->max_processors ? std::optional<int>(d->min_processors) : std::nullopt,
      d->min_processors, d->max_processors, d->whole_node(), slots_.free_processors(),
      slots_.total_processors);
  std::int64_t memory = slots_.memory_for(d->max_ram_mb);
  if (!slots_.fits(processors, memory))
    return fail_before_start(m, "Not enough free processors or memory",
                             std::to_string(processors) + " processors needed, " +
                                 std::to_string(slots_.free_processors()) + " free",
                             std::move(*d));
  // Held while the job is prepared, so the next request offers only what is left.
  slots_.take(m.id, processors, memory);
  // Handed to the job wrapper, which reports itself before it fetches the inputs.
  worker_.status(m.id, {"", "Submitting To CE", "", {}, agent_source()});
  worker_.status(m.id, {"Running", "Job Initialization", "", {}, kWrapperSource});
  worker_.parameters(m.id, initial_job_parameters(pilot_facts(), *d));
  prepare_job(std::move(m), std::move(*d), processors);
}

// The job's description, when this pilot may run it; otherwise the job fails and nullopt.
std::optional<jobs::JobDescription> Agent::accept_job(const jobs::MatchedJob& m) {
  if (reclaiming_) {
    fail_before_start(m, "Pilot reclaimed before the job started", "the slot was reclaimed");
    return std::nullopt;
  }
  jobs::JobDescription d;
  try {
    d = jobs::parse_job_description(m.jdl, "job " + m.id);
  } catch (const std::exception& e) {
    fail_before_start(m, "Job description invalid", e.what());
    return std::nullopt;
  }
  if (!d.platforms.empty() && s_.platform_ok) {
    bool ok = false;
    for (const auto& p : d.platforms) ok = ok || p == "ANY" || s_.platform_ok(p);
    if (!ok) {
      fail_before_start(m, "Job cannot run on this platform",
                        "platform " + s_.base_request.platform, d);
      return std::nullopt;
    }
  }
  return d;
}

void Agent::prepare_job(jobs::MatchedJob m, jobs::JobDescription d, int processors) {
  ++preparing_;
  auto jobdir = job_dir(s_.workdir, m.id);
  worker_.post([this, m = std::move(m), d = std::move(d), processors, jobdir]() mutable {
    trace::Phase timed("job.prepare");
    jobs::PreparedJob prepared;
    std::string minor, error;
    try {
      set_aside_earlier_attempt(jobdir);
      std::filesystem::create_directories(jobdir);
      // Kept with the job, so a pilot recovering it knows its outputs.
      write_file_atomic(jobdir / "job.jdl", m.jdl);
      // DIRAC's JobWrapper leaves the description there for the payload.
      write_file_atomic(jobdir / "job.info", jobs::job_info(jobs::parse_jdl(m.jdl, "job " + m.id)));
      prepared = s_.source->prepare_job(m, d, jobdir);
    } catch (const jobs::JobPreparationError& e) {
      minor = e.minor_status;
      error = e.what();
    } catch (const std::exception& e) {
      minor = "Job preparation failed";
      error = e.what();
    }
    asio::post(ctx_, [this, m = std::move(m), d = std::move(d), processors, jobdir,
                      prepared = std::move(prepared), minor, error]() mutable {
      on_prepared(std::move(m), std::move(d), processors, jobdir, prepared, minor, error);
    });
  });
}

void Agent::on_prepared(jobs::MatchedJob m, jobs::JobDescription d, int processors,
                        const std::filesystem::path& jobdir, const jobs::PreparedJob& prepared,
                        const std::string& minor, const std::string& error) {
  --preparing_;
  if (!error.empty() || reclaiming_) slots_.release(m.id);
  // Once the pilot gave up on the server, a preparation error is that, not the job's.
  if (!error.empty() && !worker_.stopped_waiting()) {
    fail_before_start(m, minor, error, std::move(d));
  } else if (reclaiming_) {
    fail_before_start(m, "Pilot reclaimed before the job started", "the slot was reclaimed",
                      std::move(d));
  } else {
    launch_job(m, std::move(d), processors, jobdir, prepared);
  }
  // A slot freed by a failed preparation or launch can take another job; when stopping, the end
  // may have been waiting for this job.
  if (!jobs_.count(m.id) || stopping_) try_request();
}

void Agent::launch_job(const jobs::MatchedJob& m, jobs::JobDescription d, int processors,
                       const std::filesystem::path& jobdir, const jobs::PreparedJob& prepared) {
  trace::Phase timed("agent.launch_job");
  auto job = std::make_unique<RunningJob>();
  job->id = m.id;
  job->description = std::move(d);
  job->processors = processors;
  auto budget = budget_view();
  jw::JobSpec spec;
  try {
    spec = make_job_spec(job->description, m.id, s_.config, jobdir, job->processors, budget);
    for (const auto& [name, value] : prepared.environment) spec.env.set[name] = value;
    if (jobs::needs_dirac_runtime(job->description.executable))
      prepare_workflow(spec, job->description, s_, budget);
    if (auto mo = mc_options(job->description, budget, job->processors))
      job->mc.emplace(spec, *mo, log_.child("job"));
    if (s_.container) spec.argv = jw::container_argv(job_container(spec), spec.argv);
  } catch (const jobs::JobPreparationError& e) {
    slots_.release(m.id);
    return fail_before_start(m, e.minor_status, e.what(), std::move(job->description));
  } catch (const std::exception& e) {
    slots_.release(m.id);
    return fail_before_start(m, e.what(), e.what(), std::move(job->description));
  }
  ++summary_.jobs_started;
  auto hooks = job_hooks(*job);
  job->supervisor = std::make_unique<jw::Supervisor>(ctx_, std::move(spec), std::move(hooks),
                                                     log_.child("job " + m.id));
  if (job->mc) job->mc->record_start(job->supervisor->record());
  job->supervisor->record().extra["agent"] = {
      {"processors", job->processors},
      {"job_source", s_.source->describe()},
      {"payload", std::string(to_string(payload_kind(job->description)))}};
  start_supervisor(m, std::move(job));
}

// The pilot's container for one job: its directory, and what its environment points at outside
// it (the payload's proxy, which lives in the hidden work area, the CAs, the DIRAC runtime).
jw::ContainerSpec Agent::job_container(const jw::JobSpec& spec) const {
  auto c = *s_.container;
  c.workdir = spec.workdir;
  for (const char* name : {"X509_USER_PROXY", "X509_CERT_DIR", "DIRACROOT"})
    if (auto it = spec.env.set.find(name); it != spec.env.set.end() && !it->second.empty())
      c.binds.emplace_back(it->second);
  return c;
}

jw::Hooks Agent::job_hooks(RunningJob& job) {
  jw::Hooks hooks;
  if (job.mc) job.mc->install(hooks, [this] { return slot_end(); });
  hooks.on_heartbeat = [this, id = job.id](const jw::Heartbeat& h) {
    send_heartbeat(id, jw::to_json(h));
  };
  hooks.on_started = [this, id = job.id](jw::Supervisor& sup) {
    if (auto it = jobs_.find(id); it != jobs_.end()) it->second->payload_started = true;
    publish_status();
    worker_.status(id, {"", "Application", "", {}, kWrapperSource});
    worker_.parameters(id, job_start_parameters(sup.record().pid, node_parameters_, "/"));
  };
  hooks.on_finished = [this, id = job.id](const jw::JobRecord&) {
    // Not inside the supervisor's own callback: it is destroyed when the job is reported.
    asio::post(ctx_, [this, id] { job_finished(id); });
  };
  return hooks;
}

// With the heartbeat, the job's credential is kept valid; the server's commands come back to
// the event loop.
void Agent::send_heartbeat(const std::string& id, const nlohmann::json& data) {
  ++counters_.heartbeats;
  worker_.post([this, id, data] {
    try {
      s_.source->maintain_job(id);
    } catch (const std::exception& e) {
      log_.warn("keeping the job's credential valid failed", {{"job_id", id}, {"error", e.what()}});
    }
    std::vector<jobs::Command> cmds;
    try {
      cmds = s_.source->heartbeat(id, data);
    } catch (const std::exception& e) {
      log_.warn("heartbeat failed", {{"job_id", id}, {"error", e.what()}});
    }
    if (!cmds.empty()) asio::post(ctx_, [this, id, cmds] { on_commands(id, cmds); });
  });
}

void Agent::start_supervisor(const jobs::MatchedJob& m, std::unique_ptr<RunningJob> job) {
  auto* sup = job->supervisor.get();
  jobs_[m.id] = std::move(job);
  try {
    sup->start();
  } catch (const std::exception& e) {
    log_.error("cannot prepare the job directory", {{"job_id", m.id}, {"error", e.what()}});
    slots_.release(m.id);
    auto description = std::move(jobs_[m.id]->description);
    jobs_.erase(m.id);
    --summary_.jobs_started;
    return fail_before_start(m, "Job directory could not be prepared", e.what(),
                             std::move(description));
  }
  if (reclaiming_) sup->request_stop("slot reclaimed");
  check_deadlines();
  publish_status();
}

void Agent::on_commands(const std::string& id, const std::vector<jobs::Command>& cmds) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  for (const auto& c : cmds) {
    log_.warn("command from the job source", {{"job_id", id}, {"command", c.name}});
    if (c.name != "Kill") continue;
    it->second->stop_requested = true;
    // Recorded first, so the job ends as DIRAC's Watchdog ends a killed job, also when a
    // later pilot recovers it.
    auto& sup = *it->second->supervisor;
    sup.record().extra["agent"]["kill_received"] = jw::utc_now();
    sup.save_record();
    sup.request_stop("Kill command from the job source");
  }
}

void Agent::job_finished(const std::string& id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  trace::Phase timed("agent.job_finished");
  auto& job = *it->second;
  auto& rec = job.supervisor->record();
  std::optional<mc::McResult> result;
  if (job.mc) result = job.mc->finish(*job.supervisor);
  auto fr = final_report(rec, result, budget_view().cpu_power_hs06.value_or(0), job.processors);
  summary_.cpu_seconds += rec.cpu_seconds;
  summary_.processor_seconds += rec.wall_seconds * job.processors;
  if (fr.events) summary_.events += *fr.events;
  if (result && result->interrupted) ++summary_.jobs_interrupted;
  count_outcome(summary_, fr);
  log_.info("job done", {{"job_id", id},
                         {"outcome", std::string(to_string(rec.outcome))},
                         {"status", fr.statuses.back().status},
                         {"minor_status", fr.statuses.back().minor_status},
                         {"events", fr.events}});
  auto last = fr.statuses.back();
  fr.statuses.pop_back();
  for (auto& u : fr.statuses) worker_.status(id, u);
  worker_.final_report(
      id, fr.parameters,
      jobs::FinishedJob{rec.workdir, nlohmann::json(jw::to_json(rec)), job.description, last});
  slots_.release(id);
  jobs_.erase(it);
  waiting_for_own_jobs_ = false;
  publish_status();
  if (stopping_) return maybe_finish();
  try_request();
}

// A job matched again (rescheduled, then matched to this pilot) must not start among the files
// of its earlier attempt (checkpoints, logs, outputs): those are kept aside, already reported.
void Agent::set_aside_earlier_attempt(const std::filesystem::path& jobdir) {
  if (!std::filesystem::exists(jobdir)) return;
  for (int n = 1;; ++n) {
    auto aside =
        jobdir.parent_path() / ("earlier_" + jobdir.filename().string() + "_" + std::to_string(n));
    if (std::filesystem::exists(aside)) continue;
    std::filesystem::rename(jobdir, aside);
    log_.info("the job ran here before: its earlier attempt is kept aside",
              {{"dir", aside.string()}});
    return;
  }
}

}  // namespace pilot::agent
