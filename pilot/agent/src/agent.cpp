#include "agent/agent.hpp"

#include <signal.h>

#include <cstdlib>
#include <optional>
#include <random>

#include <boost/asio/post.hpp>

#include "agent_loop.hpp"
#include "core/signals.hpp"
#include "core/trace.hpp"
#include "lost_jobs.hpp"
#include "mjf/local_files.hpp"

namespace pilot::agent {
namespace asio = boost::asio;

namespace {

LoopLimits limits(const Config& c) {
  LoopLimits l;
  l.stop_after_failed_matches = c.stop_after_failed_matches;
  l.max_host_failures = c.max_host_failures;
  l.max_jobs = c.max_jobs;
  l.min_cpu_work_left_hs06s = c.min_cpu_work_left_hs06s;
  l.fill = c.fill;
  l.processors = std::max(1, c.processors);
  return l;
}

// The start-up spread and the rate limit protect a shared service; a local queue is a
// directory of this node, and waiting on it only idles the slot.
PacingLimits pacing_limits(const Config& c) {
  PacingLimits p = c.pacing;
  if (!c.uses_dirac()) p.start_spread_s = p.max_requests_per_s = 0;
  return p;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

void stop_signals_mask(int how) {
  sigset_t set = stop_signal_set();
  pthread_sigmask(how, &set, nullptr);
}

}  // namespace

Agent::Agent(AgentSetup& s)
    : s_(s),
      log_(s.log),
      worker_(*s.source, s.log),
      node_parameters_(
          node_parameters(s.host_name, "/", [](const char* n) { return std::getenv(n); })),
      signals_(ctx_, SIGTERM, SIGINT, SIGUSR1),
      request_timer_(ctx_),
      give_up_timer_(ctx_),
      status_timer_(ctx_),
      policy_(limits(s.config)),
      pacing_(pacing_limits(s.config), random_seed()) {
  signals_.add(SIGUSR2);
  slots_.total_processors = std::max(1, s.base_request.processors);
  slots_.total_memory_mb = s.base_request.max_ram_mb;
  if (s.watcher) budget_ = s.watcher->budget();
  if (s.config.pilot_lifetime_s > 0)
    lifetime_end_ = start_ + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(s.config.pilot_lifetime_s));
}

AgentSummary Agent::run() {
  started_at_epoch_ = monitor::epoch_now();
  start_monitoring_records();
  publish_status();
  wait_signal();
  // Blocked by `pilot run` until now, so a signal sent during start-up waits for the handler
  // instead of killing the pilot; the worker thread keeps them blocked (created blocked).
  stop_signals_mask(SIG_UNBLOCK);
  std::optional<trace::Phase> recovery(std::in_place, "agent.recovery");
  recover_lost_jobs({s_.workdir, s_.proc_root, grace_s(), budget_view().cpu_power_hs06.value_or(0),
                     agent_source(), log_, worker_, summary_, recovery_locks_,
                     [this](const std::filesystem::path& dir, const jobwrapper::JobRecord& rec) {
                       return adopt_job(dir, rec);
                     }});
  recovery.reset();
  watch_budget();
  refresh_status_periodically();
  first_request_after_spread();
  asio::post(ctx_, [this] { try_request(); });
  ctx_.run();
  watcher_thread_.reset();
  // Reports still queued (final statuses, finish_job) are delivered before the pilot ends.
  std::optional<std::string> signalled;
  if (summary_.stop == StopReason::signal) signalled = summary_.stop_detail;
  summary_.reports_abandoned = worker_.finish(s_.config.report_retry_s, signalled);
  summary_.reports_refused = s_.source->refused_reports();
  summary_.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  publish_status();  // its last word: ended, with the final counts
  stop_monitoring_records();
  return summary_;
}

void Agent::watch_budget() {
  if (!s_.watcher) return;
  watcher_thread_ = std::make_unique<mjf::WatcherThread>(
      *s_.watcher, s_.watch_period,
      [this](const std::vector<mjf::Change>& c, const mjf::ResourceBudget& b) {
        asio::post(ctx_, [this, c, b] { on_budget(c, b); });
      });
}

// A signalled pilot with no payload left waits for a request or a job's preparation on the
// worker for kSourceGraceAfterSignal at most.
void Agent::give_up_on_source_soon() {
  if (give_up_armed_) return;
  give_up_armed_ = true;
  give_up_timer_.expires_after(kSourceGraceAfterSignal);
  give_up_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) worker_.stop_waiting();
  });
}

void Agent::wait_signal() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    signalled_ = true;
    reclaim(StopReason::signal, "pilot received " + signal_name(sig));
    // Once the agent has ended, waiting again would keep the event loop alive for ever.
    if (!finished_) wait_signal();
  });
}

void Agent::reclaim(StopReason reason, const std::string& why) {
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

void Agent::stop(StopReason reason, const std::string& detail) {
  if (summary_.stop == StopReason::none) {
    summary_.stop = reason;
    summary_.stop_detail = detail;
    log_.info("no more jobs will be requested",
              {{"reason", stop_reason_text(reason)}, {"detail", detail}});
  }
  stopping_ = true;
  request_timer_.cancel();
  publish_status();
}

void Agent::on_budget(const std::vector<mjf::Change>& changes, const mjf::ResourceBudget& b) {
  budget_ = b;
  for (const auto& c : changes) {
    if (c.kind == mjf::ChangeKind::drain_requested) stop(StopReason::drain, "drain file present");
  }
  check_deadlines();
}

std::optional<mc::StopBy> Agent::slot_end() const {
  return budget_ ? mc::slot_end(*budget_) : std::nullopt;
}

// MC payloads stop gracefully when the slot's end leaves just their grace; other payloads run
// on (DIRAC's behaviour) and are stopped by the reclaim or the batch system.
void Agent::check_deadlines() {
  auto d = slot_end();
  if (!d) return;
  for (auto& [id, job] : jobs_)
    if (job->mc) job->mc->stop_before(*job->supervisor, *d, grace_s(), poll_period());
  // No time left for anything but the graceful end: no new job. Short of that, the offer's
  // CPU work left already keeps jobs that cannot finish away, and MC jobs are sized to fit.
  if (mc::time_to_stop(*d, grace_s(), poll_period()))
    stop(StopReason::shutdown, "the slot ends (" + d->source + ")");
}

double Agent::grace_s() const {
  if (s_.config.grace_s > 0) return s_.config.grace_s;
  if (s_.watcher) {
    const auto& f = s_.watcher->observation().mjf;
    if (f.job.grace_secs_job) return static_cast<double>(*f.job.grace_secs_job);
    if (f.machine.grace_secs) return static_cast<double>(*f.machine.grace_secs);
  }
  return 30;
}

double Agent::poll_period() const {
  return std::chrono::duration<double>(s_.watch_period).count();
}

BudgetView Agent::budget_view() const {
  BudgetView v;
  v.grace_s = grace_s();
  if (budget_) {
    if (budget_->wall_seconds_left)
      v.wall_seconds_left = static_cast<double>(*budget_->wall_seconds_left);
    v.wall_source = mjf::limit_names(budget_->limited_by);
    v.cpu_power_hs06 = budget_->cpu_power_hs06;
    v.cpu_power_source = budget_->cpu_power_source;
  }
  if (!v.cpu_power_hs06 && s_.config.cpu_power_hs06 > 0) {
    v.cpu_power_hs06 = s_.config.cpu_power_hs06;
    v.cpu_power_source = "config";
  }
  return v;
}

void Agent::maybe_finish() {
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
  status_timer_.cancel();
}

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
