#include "agent/agent.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "agent/job_plan.hpp"
#include "agent/slots.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process_v2.hpp"
#include "core/signals.hpp"
#include "core/version.hpp"
#include "dirac/services.hpp"
#include "jobs/job_description.hpp"
#include "jobwrapper/supervisor.hpp"
#include "mc/cpu_limit.hpp"
#include "mc/interruptible.hpp"
#include "mjf/local_files.hpp"

namespace pilot::agent {
namespace asio = boost::asio;
namespace jw = pilot::jobwrapper;
using Clock = std::chrono::steady_clock;

nlohmann::json to_json(const AgentSummary& s) {
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& [name, secs] : s.phases) phases[name] = secs;
  double efficiency = s.processor_seconds > 0 ? s.cpu_seconds / s.processor_seconds : 0;
  return {{"jobs_matched", s.jobs_matched},
          {"jobs_started", s.jobs_started},
          {"jobs_succeeded", s.jobs_succeeded},
          {"jobs_failed", s.jobs_failed},
          {"jobs_rescheduled", s.jobs_rescheduled},
          {"jobs_interrupted", s.jobs_interrupted},
          {"jobs_recovered", s.jobs_recovered},
          {"events", s.events},
          {"cpu_seconds", s.cpu_seconds},
          {"cpu_efficiency", efficiency},
          {"elapsed_seconds", s.elapsed_seconds},
          {"stop_reason", stop_reason_text(s.stop)},
          {"stop_detail", s.stop_detail},
          {"reports_refused", s.reports_refused},
          {"phases", phases}};
}

namespace {

struct RunningJob {
  std::string id;
  jobs::JobDescription description;
  int processors = 1;
  std::unique_ptr<jw::Supervisor> supervisor;
  std::optional<mc::McJob> mc;
  mc::CpuRate cpu_rate;  // MC jobs with a CPU limit: stopped gracefully before the watchdog kills
  Clock::time_point started = Clock::now();
};

// The Source field of DIRAC's reports: its JobAgent reports as "JobAgent@<site>", the job
// wrapper as "JobWrapper".
constexpr const char* kWrapperSource = "JobWrapper";

// How long a signalled pilot still waits for the job source (reports, a request or a job's
// preparation in flight) before it stops waiting for the server.
constexpr auto kSourceGraceAfterSignal = std::chrono::seconds(2);
// Once it stopped waiting, every call fails at once: the worker only writes what is left to disk.
constexpr auto kDrainAfterGivingUp = std::chrono::seconds(1);

class Agent {
 public:
  explicit Agent(AgentSetup& s)
      : s_(s),
        log_(s.log),
        signals_(ctx_, SIGTERM, SIGINT, SIGUSR1),
        request_timer_(ctx_),
        give_up_timer_(ctx_),
        policy_(limits(s.config)) {
    signals_.add(SIGUSR2);
    slots_.total_processors = std::max(1, s.base_request.processors);
    slots_.total_memory_mb = s.base_request.max_ram_mb;
    if (s.watcher) budget_ = s.watcher->budget();
    if (s.config.pilot_lifetime_s > 0)
      lifetime_end_ = start_ + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(s.config.pilot_lifetime_s));
  }

  AgentSummary run() {
    wait_signal();
    // Blocked by `pilot run` until now, so a signal sent during start-up waits for the handler
    // instead of killing the pilot; the worker thread keeps them blocked (created blocked).
    stop_signals_mask(SIG_UNBLOCK);
    recover_lost_jobs();
    if (s_.watcher) {
      watcher_thread_ = std::make_unique<mjf::WatcherThread>(
          *s_.watcher, s_.watch_period,
          [this](const std::vector<mjf::Change>& c, const mjf::ResourceBudget& b) {
            asio::post(ctx_, [this, c, b] { on_budget(c, b); });
          });
    }
    asio::post(ctx_, [this] { try_request(); });
    ctx_.run();
    watcher_thread_.reset();
    // Reports still queued (final statuses, finish_job) are delivered before the pilot ends.
    finish_reporting();
    summary_.reports_refused = s_.source->refused_reports();
    summary_.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return summary_;
  }

 private:
  static LoopLimits limits(const Config& c) {
    LoopLimits l;
    l.polling_s = c.polling_s;
    l.stop_after_failed_matches = c.stop_after_failed_matches;
    l.max_host_failures = c.max_host_failures;
    l.max_jobs = c.max_jobs;
    l.min_cpu_work_left_hs06s = c.min_cpu_work_left_hs06s;
    l.fill = c.fill;
    l.processors = std::max(1, c.processors);
    return l;
  }

  static void stop_signals_mask(int how) {
    sigset_t set = stop_signal_set();
    pthread_sigmask(how, &set, nullptr);
  }

  // Runs what the worker still has (final reports, output uploads), then deliver_reports, while
  // this thread waits for stop signals: one cuts the retries short, and when the worker is still
  // held by a server that does not answer a moment later, the pilot leaves it. Nothing is lost:
  // every report and output sandbox is on disk before it is sent, for the next pilot.
  void finish_reporting() {
    stop_signals_mask(SIG_BLOCK);
    asio::post(*worker_, [this] {
      deliver_reports();
      reports_done_ = true;
    });
    const sigset_t set = stop_signal_set();
    std::optional<Clock::time_point> leave_at;
    // A pilot stopped by a signal tries what is queued once, not for report_retry_s: whoever
    // sent it will not wait that long.
    auto leave_soon = [&](const std::string& why) {
      log_.warn("stopped by a signal: undelivered reports stay on disk for the next pilot",
                {{"signal", why}});
      abandon_reports_ = true;
      leave_at = Clock::now() + kSourceGraceAfterSignal;
    };
    if (summary_.stop == StopReason::signal) leave_soon(summary_.stop_detail);
    while (!reports_done_) {
      timespec step{0, 100'000'000};
      int sig = sigtimedwait(&set, nullptr, &step);
      if (sig > 0 && !leave_at) leave_soon(signal_name(sig));
      if (leave_at && Clock::now() >= *leave_at && !reports_done_) {
        if (!stopped_waiting_) {
          stop_waiting_for_source();
          leave_at = Clock::now() + kDrainAfterGivingUp;
          continue;
        }
        log_.warn("the job source does not answer: the pilot ends without waiting for it");
        // Its thread is blocked in a call that cannot give up (name resolution): it is left
        // running, with everything it uses (run_agent keeps this agent, `pilot run` ends the
        // process before the job source goes).
        (void)worker_.release();
        summary_.reports_abandoned = true;
        return;
      }
    }
    worker_->join();
  }

  // The last reports (final statuses of every job) outlive a server outage: retried with
  // back-off for report_retry_s, then left on disk (the report buffer) for the next pilot.
  void deliver_reports() {
    auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(s_.config.report_retry_s));
    double wait_s = 0.5;
    for (;;) {
      if (abandon_reports_) return;
      try {
        if (s_.source->flush()) return;
      } catch (const std::exception& e) {
        log_.warn("flushing reports failed", {{"error", e.what()}});
      }
      auto wait =
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s));
      if (Clock::now() + wait > end) {
        log_.warn("some reports could not be delivered; they are kept on disk for the next pilot",
                  {{"retried_s", s_.config.report_retry_s}});
        return;
      }
      log_.info("reports not delivered yet, retrying", {{"in_s", wait_s}});
      for (auto until = Clock::now() + wait; Clock::now() < until;
           std::this_thread::sleep_for(std::chrono::milliseconds(50)))
        if (abandon_reports_) return;
      wait_s = std::min(wait_s * 2, 30.0);
    }
  }

  // --- signals and budget ---

  // The worker is held by a server that does not answer: its calls give up, what they carried
  // stays on disk (the source's contract).
  void stop_waiting_for_source() {
    if (stopped_waiting_) return;
    stopped_waiting_ = true;
    abandon_reports_ = true;
    log_.warn(
        "the job source does not answer: the pilot stops waiting for it; what it did not "
        "take stays on disk for the next pilot");
    s_.source->stop_waiting();
  }

  // A signalled pilot with no payload left waits for a request or a job's preparation on the
  // worker for kSourceGraceAfterSignal at most.
  void give_up_on_source_soon() {
    if (give_up_armed_) return;
    give_up_armed_ = true;
    give_up_timer_.expires_after(kSourceGraceAfterSignal);
    give_up_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) stop_waiting_for_source();
    });
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      signalled_ = true;
      reclaim(StopReason::signal, "pilot received " + signal_name(sig));
      // Once the agent has ended, waiting again would keep the event loop alive for ever.
      if (!finished_) wait_signal();
    });
  }

  void reclaim(StopReason reason, const std::string& why) {
    if (reclaiming_) {
      log_.warn("reclaim already in progress", {{"why", why}});
      return;
    }
    reclaiming_ = true;
    stop(reason, why);
    log_.warn("slot reclaimed: stopping every payload gracefully",
              {{"why", why}, {"jobs", static_cast<std::int64_t>(jobs_.size())}});
    for (auto& [id, job] : jobs_) job->supervisor->request_stop(why);
    maybe_finish();
  }

  void stop(StopReason reason, const std::string& detail) {
    if (summary_.stop == StopReason::none) {
      summary_.stop = reason;
      summary_.stop_detail = detail;
      log_.info("no more jobs will be requested",
                {{"reason", stop_reason_text(reason)}, {"detail", detail}});
    }
    stopping_ = true;
    request_timer_.cancel();
  }

  void on_budget(const std::vector<mjf::Change>& changes, const mjf::ResourceBudget& b) {
    budget_ = b;
    for (const auto& c : changes) {
      if (c.kind == mjf::ChangeKind::drain_requested) stop(StopReason::drain, "drain file present");
    }
    check_deadlines();
  }

  std::optional<mc::Deadline> slot_deadline() const {
    if (!budget_ || budget_->deadlines.empty()) return std::nullopt;
    const auto& d = budget_->deadlines.front();
    return mc::Deadline{std::chrono::system_clock::time_point(std::chrono::seconds(d.epoch)),
                        std::string(mjf::limit_name(d.source))};
  }

  // MC payloads stop gracefully when the slot's end leaves just their grace; other payloads run
  // on (DIRAC's behaviour) and are stopped by the reclaim or the batch system.
  void check_deadlines() {
    auto d = slot_deadline();
    if (!d) return;
    for (auto& [id, job] : jobs_) {
      if (!job->mc || job->supervisor->finished()) continue;
      double grace = grace_s();
      if (mc::deadline_reached(*d, grace, poll_period()))
        job->supervisor->request_stop("the slot ends (" + d->source +
                                      "): stopping at an event boundary");
    }
    // No time left for anything but the graceful end: no new job. Short of that, the offer's
    // CPU work left already keeps jobs that cannot finish away, and MC jobs are sized to fit.
    if (mc::deadline_reached(*d, grace_s(), poll_period()))
      stop(StopReason::shutdown, "the slot ends (" + d->source + ")");
  }

  double grace_s() const {
    if (s_.config.grace_s > 0) return s_.config.grace_s;
    if (s_.watcher) {
      const auto& f = s_.watcher->observation().mjf;
      if (f.job.grace_secs_job) return static_cast<double>(*f.job.grace_secs_job);
      if (f.machine.grace_secs) return static_cast<double>(*f.machine.grace_secs);
    }
    return 30;
  }
  double poll_period() const { return std::chrono::duration<double>(s_.watch_period).count(); }

  BudgetView budget_view() const {
    BudgetView v;
    v.grace_s = grace_s();
    if (budget_) {
      if (budget_->wall_seconds_left)
        v.wall_seconds_left = static_cast<double>(*budget_->wall_seconds_left);
      if (budget_->limited_by) v.wall_source = std::string(mjf::limit_name(*budget_->limited_by));
      v.cpu_power_hs06 = budget_->cpu_power_hs06;
      v.cpu_power_source = budget_->cpu_power_source;
    }
    if (!v.cpu_power_hs06 && s_.config.cpu_power_hs06 > 0) {
      v.cpu_power_hs06 = s_.config.cpu_power_hs06;
      v.cpu_power_source = "config";
    }
    return v;
  }

  // --- requests ---

  StopReason stop_check(std::string& detail) {
    // The file the MJF watcher watches too (startup): one place says what draining means.
    if (mjf::drain_file_exists(s_.config.drain_file)) {
      detail = s_.config.drain_file.string();
      return StopReason::drain;
    }
    if (lifetime_end_ && Clock::now() >= *lifetime_end_) return StopReason::lifetime;
    std::optional<double> work;
    if (budget_ && budget_->cpu_work_left_hs06s) work = *budget_->cpu_work_left_hs06s;
    return policy_.before_request(work);
  }

  void try_request() {
    if (stopping_ || requesting_) return maybe_finish();
    auto now = Clock::now();
    if (next_request_ > now) {
      request_timer_.expires_at(next_request_);
      request_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) try_request();
      });
      return;
    }
    std::string detail;
    if (auto reason = stop_check(detail); reason != StopReason::none) {
      stop(reason, detail);
      return maybe_finish();
    }
    auto plans = request_plans(slots_);
    if (plans.empty()) return;  // every processor is busy: a job's end calls again
    std::vector<jobs::ResourceRequest> requests;
    for (const auto& p : plans) {
      jobs::ResourceRequest r = s_.base_request;
      r.processors = p.processors;
      r.whole_node = p.whole_node;
      for (const auto& t : p.required_tags) r.required_tags.push_back(t);
      if (budget_ && budget_->cpu_work_left_hs06s)
        r.cpu_work_left_hs06s = static_cast<std::int64_t>(*budget_->cpu_work_left_hs06s);
      if (slots_.total_memory_mb > 0) r.max_ram_mb = slots_.free_memory_mb();
      r.extra["RequestStrategy"] = strategy_name(p.strategy);
      requests.push_back(std::move(r));
    }
    requesting_ = true;
    asio::post(*worker_, [this, requests = std::move(requests)] {
      std::optional<jobs::MatchedJob> match;
      std::string error;
      bool version_mismatch = false;
      try {
        for (const auto& r : requests) {
          auto asked = Clock::now();
          match = s_.source->request_job(r);
          if (match) {
            match->match_seconds = std::chrono::duration<double>(Clock::now() - asked).count();
            break;
          }
        }
      } catch (const dirac::VersionMismatch& e) {
        error = e.what();
        version_mismatch = true;
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(ctx_, [this, match = std::move(match), error, version_mismatch]() mutable {
        on_request_result(std::move(match), error, version_mismatch);
      });
    });
  }

  void on_request_result(std::optional<jobs::MatchedJob> match, const std::string& error,
                         bool version_mismatch) {
    requesting_ = false;
    if (version_mismatch) {
      log_.error("the server rejects this pilot's version", {{"error", error}});
      stop(StopReason::version_mismatch, error);
    } else if (!error.empty()) {
      policy_.on_host_failure();
      log_.warn("job request failed", {{"error", error}, {"consecutive", policy_.host_failures()}});
    } else if (!match) {
      policy_.on_no_match();
      log_.info("no job matched", {{"consecutive", policy_.failed_matches()}});
    } else {
      policy_.on_match();
      start_job(std::move(*match));
    }
    auto wait = policy_.wait_after_failure();
    next_request_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(wait);
    try_request();
  }

  // --- jobs ---

  void report(const std::string& id, jobs::StatusUpdate u) {
    u.time = std::chrono::system_clock::now();
    asio::post(*worker_, [this, id, u] {
      try {
        s_.source->set_status(id, u);
      } catch (const std::exception& e) {
        log_.warn("status report failed", {{"job_id", id}, {"error", e.what()}});
      }
    });
  }

  void report_parameters(const std::string& id,
                         std::vector<std::pair<std::string, std::string>> params) {
    asio::post(*worker_, [this, id, params = std::move(params)] {
      try {
        s_.source->set_parameters(id, params);
      } catch (const std::exception& e) {
        log_.warn("parameter report failed", {{"job_id", id}, {"error", e.what()}});
      }
    });
  }

  std::string agent_source() const { return "JobAgent@" + s_.base_request.site; }

  PilotFacts pilot_facts() const {
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

  // A job that ends before its payload started: its final status goes with finish_job, after
  // whatever the source still delivers for it.
  void fail_before_start(const jobs::MatchedJob& m, const std::string& minor,
                         const std::string& detail,
                         std::optional<jobs::JobDescription> description = std::nullopt) {
    log_.error("job cannot run", {{"job_id", m.id}, {"reason", minor}, {"detail", detail}});
    ++summary_.jobs_failed;
    jobs::StatusUpdate u;
    u.status = "Failed";
    u.minor_status = minor;
    u.application_status = detail.substr(0, 255);
    u.source = agent_source();
    jobs::FinishedJob f{
        s_.workdir / ("job_" + m.id),
        nlohmann::json{{"state", "finished"}, {"outcome", "not_started"}, {"error", detail}},
        std::move(description), u};
    asio::post(*worker_, [this, id = m.id, f = std::move(f)] {
      try {
        s_.source->finish_job(id, f);
      } catch (const std::exception& e) {
        log_.warn("finishing a job that did not start failed",
                  {{"job_id", id}, {"error", e.what()}});
      }
    });
  }

  // A matched job: checked here, prepared by the source on the worker thread (downloads,
  // credentials), then launched.
  void start_job(jobs::MatchedJob m) {
    log_.info("job matched", {{"job_id", m.id}});
    ++summary_.jobs_matched;
    // DIRAC's JobAgent: the job is received (its status stays Matched) and described.
    report(m.id, {"", "Job Received by Agent", "", {}, agent_source()});
    report_parameters(m.id, job_received_parameters(pilot_facts(), m.match_seconds));
    if (reclaiming_)
      return fail_before_start(m, "Pilot reclaimed before the job started",
                               "the slot was reclaimed");
    jobs::JobDescription d;
    try {
      d = jobs::parse_job_description(m.jdl, "job " + m.id);
    } catch (const std::exception& e) {
      return fail_before_start(m, "Job description invalid", e.what());
    }
    if (!d.platforms.empty() && s_.platform_ok) {
      bool ok = false;
      for (const auto& p : d.platforms) ok = ok || p == "ANY" || s_.platform_ok(p);
      if (!ok)
        return fail_before_start(m, "Job cannot run on this platform",
                                 "platform " + s_.base_request.platform, d);
    }
    int processors = processors_for_job(
        d.min_processors == d.max_processors ? std::optional<int>(d.min_processors) : std::nullopt,
        d.min_processors, d.max_processors, d.whole_node(), slots_.free_processors(),
        slots_.total_processors);
    std::int64_t memory = slots_.total_memory_mb > 0 ? d.max_ram_mb.value_or(0) : 0;
    if (!slots_.fits(processors, memory))
      return fail_before_start(m, "Not enough free processors or memory",
                               std::to_string(processors) + " processors needed, " +
                                   std::to_string(slots_.free_processors()) + " free",
                               d);
    // Held while the job is prepared, so the next request offers only what is left.
    slots_.take(m.id, processors, memory);
    // Handed to the job wrapper, which reports itself before it fetches the inputs.
    report(m.id, {"", "Submitting To CE", "", {}, agent_source()});
    report(m.id, {"Running", "Job Initialization", "", {}, kWrapperSource});
    report_parameters(m.id, initial_job_parameters(pilot_facts(), d));
    ++preparing_;
    auto jobdir = s_.workdir / ("job_" + m.id);
    asio::post(*worker_, [this, m = std::move(m), d = std::move(d), processors, jobdir]() mutable {
      jobs::PreparedJob prepared;
      std::string minor, error;
      try {
        set_aside_earlier_attempt(jobdir);
        std::filesystem::create_directories(jobdir);
        // Kept with the job, so a pilot recovering it knows its outputs.
        write_file_atomic(jobdir / "job.jdl", m.jdl);
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
        --preparing_;
        if (!error.empty() || reclaiming_) slots_.release(m.id);
        // Once the pilot gave up on the server, a preparation error is that, not the job's.
        if (!error.empty() && !stopped_waiting_) {
          fail_before_start(m, minor, error, std::move(d));
        } else if (reclaiming_) {
          fail_before_start(m, "Pilot reclaimed before the job started", "the slot was reclaimed",
                            std::move(d));
        } else {
          launch_job(m, std::move(d), processors, jobdir, prepared);
        }
        // A slot freed by a failed preparation can take another job; when stopping, the end may
        // have been waiting for this job.
        if (!error.empty() || stopping_) try_request();
      });
    });
  }

  void launch_job(const jobs::MatchedJob& m, jobs::JobDescription d, int processors,
                  const std::filesystem::path& jobdir, const jobs::PreparedJob& prepared) {
    auto job = std::make_unique<RunningJob>();
    job->id = m.id;
    job->description = std::move(d);
    job->processors = processors;
    auto budget = budget_view();
    jw::JobSpec spec;
    try {
      spec = make_job_spec(job->description, m.id, s_.config, jobdir, job->processors, budget);
      for (const auto& [name, value] : prepared.environment) spec.env.set[name] = value;
      if (auto mo = mc_options(job->description, budget, job->processors))
        job->mc = mc::prepare_mc(spec, *mo);
      if (s_.container) {
        auto c = *s_.container;
        c.workdir = jobdir;
        spec.argv = jw::container_argv(c, spec.argv);
      }
    } catch (const std::exception& e) {
      slots_.release(m.id);
      return fail_before_start(m, e.what(), e.what(), std::move(job->description));
    }
    ++summary_.jobs_started;

    jw::Hooks hooks;
    RunningJob* raw = job.get();
    auto jlog = log_.child("job");
    hooks.on_poll = [raw, jlog, cpu_limit = spec.watchdog.cpu_limit_s, grace = spec.grace_s,
                     period = spec.watchdog.poll_s](jw::Supervisor& sup, const jw::TreeUsage& u) {
      if (!raw->mc) return;
      mc::mirror_checkpoint(sup, *raw->mc, jlog);
      if (auto why = mc::cpu_limit_stop(raw->cpu_rate, u.cpu_s(), cpu_limit, grace, period))
        sup.request_stop(*why);
    };
    hooks.on_heartbeat = [this, id = m.id](const jw::Heartbeat& h) {
      auto data = jw::to_json(h);
      asio::post(*worker_, [this, id, data] {
        try {
          s_.source->maintain_job(id);
        } catch (const std::exception& e) {
          log_.warn("keeping the job's credential valid failed",
                    {{"job_id", id}, {"error", e.what()}});
        }
        std::vector<jobs::Command> cmds;
        try {
          cmds = s_.source->heartbeat(id, data);
        } catch (const std::exception& e) {
          log_.warn("heartbeat failed", {{"job_id", id}, {"error", e.what()}});
        }
        if (!cmds.empty()) asio::post(ctx_, [this, id, cmds] { on_commands(id, cmds); });
      });
    };
    hooks.on_finished = [this, id = m.id](const jw::JobRecord&) {
      // Not inside the supervisor's own callback: it is destroyed when the job is reported.
      asio::post(ctx_, [this, id] { job_finished(id); });
    };
    job->supervisor = std::make_unique<jw::Supervisor>(ctx_, std::move(spec), std::move(hooks),
                                                       log_.child("job " + m.id));
    if (job->mc) mc::record_mc(job->supervisor->record(), *job->mc);
    job->supervisor->record().extra["agent"] = {{"processors", job->processors},
                                                {"job_source", s_.source->describe()}};
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
    if (!sup->finished()) {
      report(m.id, {"", "Application", "", {}, kWrapperSource});
      report_parameters(m.id, job_start_parameters(sup->record().pid, node_parameters_, "/"));
    }
    if (reclaiming_) sup->request_stop("slot reclaimed");
    check_deadlines();
  }

  void on_commands(const std::string& id, const std::vector<jobs::Command>& cmds) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    for (const auto& c : cmds) {
      log_.warn("command from the job source", {{"job_id", id}, {"command", c.name}});
      if (c.name != "Kill") continue;
      // Recorded first, so the job ends as DIRAC's Watchdog ends a killed job, also when a
      // later pilot recovers it.
      auto& sup = *it->second->supervisor;
      sup.record().extra["agent"]["kill_received"] = jw::utc_now();
      sup.save_record();
      sup.request_stop("Kill command from the job source");
    }
  }

  void job_finished(const std::string& id) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return;
    auto& job = *it->second;
    auto& rec = job.supervisor->record();
    std::optional<mc::McResult> result;
    if (job.mc) {
      mc::mirror_checkpoint(*job.supervisor, *job.mc, log_);
      result = mc::collect_mc(rec, job.mc->stop_signal, job.mc->summary_file);
      rec.extra["mc"]["result"] = mc::to_json(*result);
      job.supervisor->save_record();
    }
    double power = budget_view().cpu_power_hs06.value_or(0);
    auto fr = final_report(rec, result, power, job.processors);
    summary_.cpu_seconds += rec.cpu_seconds;
    summary_.processor_seconds += rec.wall_seconds * job.processors;
    if (fr.events) summary_.events += *fr.events;
    if (result && result->interrupted) ++summary_.jobs_interrupted;
    count_outcome(fr);
    log_.info("job done", {{"job_id", id},
                           {"outcome", rec.outcome},
                           {"status", fr.statuses.back().status},
                           {"minor_status", fr.statuses.back().minor_status},
                           {"events", fr.events.value_or(-1)}});
    auto last = fr.statuses.back();
    fr.statuses.pop_back();
    for (auto& u : fr.statuses) report(id, u);
    post_final_report(
        id, fr.parameters,
        jobs::FinishedJob{rec.workdir, nlohmann::json(jw::to_json(rec)), job.description, last});
    slots_.release(id);
    jobs_.erase(it);
    if (stopping_) return maybe_finish();
    try_request();
  }

  void count_outcome(const FinalReport& fr) {
    (fr.success       ? summary_.jobs_succeeded
     : fr.rescheduled ? summary_.jobs_rescheduled
                      : summary_.jobs_failed) += 1;
  }

  void maybe_finish() {
    if (!stopping_ || !jobs_.empty() || finished_) return;
    if (requesting_ || preparing_ > 0) {
      if (signalled_) give_up_on_source_soon();
      return;
    }
    finished_ = true;
    log_.info("all jobs reported: the agent ends", {{"reason", stop_reason_text(summary_.stop)}});
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    request_timer_.cancel();
    give_up_timer_.cancel();
  }

  // A job matched again (rescheduled, then matched to this pilot) must not start among the files
  // of its earlier attempt (checkpoints, logs, outputs): those are kept aside, already reported.
  void set_aside_earlier_attempt(const std::filesystem::path& jobdir) {
    if (!std::filesystem::exists(jobdir)) return;
    for (int n = 1;; ++n) {
      auto aside = jobdir.parent_path() /
                   ("earlier_" + jobdir.filename().string() + "_" + std::to_string(n));
      if (std::filesystem::exists(aside)) continue;
      std::filesystem::rename(jobdir, aside);
      log_.info("the job ran here before: its earlier attempt is kept aside",
                {{"dir", aside.string()}});
      return;
    }
  }

  // Jobs a lost pilot left in this work directory: finish the unfinished ones, then report every
  // job not marked as reported (a pilot killed during its final report left it finished but
  // unreported), then hand back what the source knows was lost before it left any trace here.
  void recover_lost_jobs() {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(s_.workdir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (!it->is_directory() || !it->path().filename().string().starts_with("job_")) continue;
      try {
        recover_job_dir(it->path());
      } catch (const std::exception& e) {
        log_.warn("cannot recover a job directory",
                  {{"dir", it->path().string()}, {"error", e.what()}});
      }
    }
    asio::post(*worker_, [this] {
      try {
        s_.source->recover_orphans();
      } catch (const std::exception& e) {
        log_.warn("cannot recover the jobs of lost pilots",
                  {{"source", s_.source->describe()}, {"error", e.what()}});
      }
    });
  }

  void recover_job_dir(const std::filesystem::path& dir) {
    auto rec = jw::load_job_record(dir);
    if (!rec || !rec->extra.contains("agent") || rec->extra["agent"].contains("reported")) return;
    bool lost = rec->state != "finished";
    // Without a recorded pid, recover_job looks for the payload by its marker: found, it was
    // caught as it started; not found, it never started.
    bool unrecorded = lost && rec->pid <= 0;
    if (lost) rec = mc::recover_job(dir, grace_s(), "/proc", log_);
    if (!rec) return;
    if (unrecorded && rec->pid <= 0) {
      rec->outcome = "not_started";
      rec->error = "the pilot was lost before the payload started; recovered by pilot " +
                   std::to_string(::getpid());
      jw::save_job_record(dir, *rec);
      return hand_back(dir, *rec, "Pilot lost before the payload started");
    }
    std::optional<mc::McResult> r;
    if (rec->extra.contains("mc")) {
      if (rec->extra["mc"].contains("result")) {
        const nlohmann::json& j = rec->extra["mc"]["result"];
        mc::McResult m;
        if (j.contains("events") && !j["events"].is_null())
          m.events = j["events"].get<std::int64_t>();
        m.events_source = j.value("events_source", nlohmann::json()).is_null()
                              ? ""
                              : j["events_source"].get<std::string>();
        m.interrupted = j.value("interrupted", lost);
        m.success = lost ? m.events.has_value() : j.value("success", m.events.has_value());
        m.detail = j.value("detail", std::string());
        r = m;
      } else {
        r = mc::recover_mc(dir);  // finished, but killed before the result was kept
      }
    }
    // A lost payload that made nothing worth reporting runs again instead: one caught as it
    // started, or an MC payload stopped before its first event.
    bool made_nothing = !(r && r->events.value_or(0) > 0);
    if (lost && made_nothing && (unrecorded || rec->extra.contains("mc")))
      return hand_back(
          dir, *rec,
          unrecorded ? "Pilot lost as the payload started" : "Pilot lost before the first event");
    ++summary_.jobs_recovered;
    if (r && r->events) summary_.events += *r->events;
    int processors = rec->extra.contains("agent") ? rec->extra["agent"].value("processors", 1) : 1;
    auto fr = final_report(*rec, r, budget_view().cpu_power_hs06.value_or(0), processors);
    count_outcome(fr);
    log_.warn(lost ? "reporting a job recovered from a lost pilot"
                   : "reporting a finished job its lost pilot did not report",
              {{"job_id", rec->job_id}, {"events", fr.events.value_or(-1)}});
    auto last = fr.statuses.back();
    fr.statuses.pop_back();
    for (auto& u : fr.statuses) report(rec->job_id, u);
    post_final_report(rec->job_id, fr.parameters,
                      jobs::FinishedJob{dir, nlohmann::json(jw::to_json(*rec)),
                                        recovered_description(dir), last});
  }

  // A lost pilot's job that produced nothing runs again. A source that requeues such jobs itself
  // (recover_orphans) gets nothing reported and the directory is kept aside for the record; DIRAC
  // is told "Rescheduled" and JobManager.rescheduleJob, as its JobAgent does for a job it could
  // not start.
  void hand_back(const std::filesystem::path& dir, const jw::JobRecord& rec,
                 const std::string& why) {
    if (s_.source->requeues_unstarted_jobs()) {
      auto aside = dir.parent_path() /
                   ("lost_" + dir.filename().string() + "_" + std::to_string(::getpid()));
      std::filesystem::rename(dir, aside);
      log_.warn("a lost pilot's job goes back to the job source",
                {{"job_id", rec.job_id}, {"dir", aside.string()}, {"why", why}});
      return;
    }
    ++summary_.jobs_recovered;
    ++summary_.jobs_rescheduled;
    log_.warn("a lost pilot's job is rescheduled", {{"job_id", rec.job_id}, {"why", why}});
    post_final_report(
        rec.job_id, {},
        jobs::FinishedJob{dir, nlohmann::json(jw::to_json(rec)), recovered_description(dir),
                          jobs::StatusUpdate{"Rescheduled", "", why,
                                             std::chrono::system_clock::now(), agent_source()}});
  }

  // Parameters and results, then the mark that keeps a restarted pilot from reporting it again.
  void post_final_report(const std::string& id,
                         std::vector<std::pair<std::string, std::string>> params,
                         jobs::FinishedJob f) {
    asio::post(*worker_, [this, id, params = std::move(params), f = std::move(f)] {
      try {
        s_.source->set_parameters(id, params);
        s_.source->finish_job(id, f);
      } catch (const std::exception& e) {
        log_.warn("final report failed", {{"job_id", id}, {"error", e.what()}});
      }
      mark_reported(f.workdir);
    });
  }

  void mark_reported(const std::filesystem::path& dir) {
    try {
      auto rec = jw::load_job_record(dir);
      if (!rec) return;
      rec->extra["agent"]["reported"] = jw::utc_now();
      jw::save_job_record(dir, *rec);
    } catch (const std::exception& e) {
      log_.error("cannot mark a job as reported; a restarted pilot would report it again",
                 {{"dir", dir.string()}, {"error", e.what()}});
    }
  }

  // The description saved with a lost pilot's job (job.jdl), when it is still readable.
  std::optional<jobs::JobDescription> recovered_description(const std::filesystem::path& jobdir) {
    try {
      if (auto text = read_file(jobdir / "job.jdl"))
        return jobs::parse_job_description(*text, (jobdir / "job.jdl").string());
    } catch (const std::exception& e) {
      log_.warn("the recovered job's description cannot be read: its outputs are not delivered",
                {{"dir", jobdir.string()}, {"error", e.what()}});
    }
    return std::nullopt;
  }

  AgentSetup& s_;
  log::Logger log_;
  asio::io_context ctx_;
  // Created while `pilot run` blocks the stop signals, so its thread never takes them. Held by
  // pointer so that a pilot ending during a server's silence can leave the thread behind.
  std::unique_ptr<asio::thread_pool> worker_ = std::make_unique<asio::thread_pool>(1);
  std::atomic<bool> abandon_reports_{false};
  std::atomic<bool> reports_done_{false};  // set by the worker, which may outlive run()
  // Read once: they hold for the pilot's life.
  const std::vector<std::pair<std::string, std::string>> node_parameters_ =
      node_parameters(s_.host_name, "/", [](const char* n) { return std::getenv(n); });
  asio::signal_set signals_;
  asio::steady_timer request_timer_;
  asio::steady_timer give_up_timer_;  // give_up_on_source_soon
  Slots slots_;
  LoopPolicy policy_;
  std::optional<mjf::ResourceBudget> budget_;
  std::unique_ptr<mjf::WatcherThread> watcher_thread_;
  std::map<std::string, std::unique_ptr<RunningJob>> jobs_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point next_request_ = Clock::now();
  std::optional<Clock::time_point> lifetime_end_;
  int preparing_ = 0;  // jobs the source is preparing on the worker thread
  bool requesting_ = false, stopping_ = false, reclaiming_ = false, finished_ = false;
  bool signalled_ = false, give_up_armed_ = false, stopped_waiting_ = false;
  AgentSummary summary_;
};

}  // namespace

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&set, sig);
  return set;
}

AgentSummary run_agent(AgentSetup& setup) {
  auto agent = std::make_unique<Agent>(setup);
  auto summary = agent->run();
  if (summary.reports_abandoned) (void)agent.release();  // its worker thread may still use it
  return summary;
}

}  // namespace pilot::agent
