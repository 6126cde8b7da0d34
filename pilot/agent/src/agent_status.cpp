// What the agent tells its operators (issue 19): its PilotStatus, rebuilt from the loop's state
// every status_period_s and at each change of a job or of the pilot's state, written to the
// status file `pilot status` reads and, when configured, to the Prometheus text file.

#include <unistd.h>

#include <chrono>

#include "agent_loop.hpp"
#include "core/error.hpp"
#include "core/version.hpp"
#include "mc/checkpoint.hpp"
#include "monitor/metrics.hpp"
#include "monitor/monitoring_records.hpp"
#include "monitor/status_file.hpp"

namespace pilot::agent {
namespace mon = pilot::monitor;

namespace {

double epoch_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// An MC payload's events so far: its last checkpoint, when it has written one that reads.
std::optional<std::int64_t> events_done(const mc::McRun& mc) {
  try {
    if (auto c = mc::read_checkpoint(mc.job().checkpoint_file)) return c->events;
  } catch (const Error&) {
    // A checkpoint the payload is rewriting without rename reads as malformed for a moment:
    // the figure is unknown until the next refresh, the job's own report counts.
  }
  return std::nullopt;
}

}  // namespace

mon::PilotState Agent::pilot_state() const {
  if (finished_) return mon::PilotState::ended;
  if (reclaiming_) return mon::PilotState::reclaimed;
  if (stopping_) return mon::PilotState::stopping;
  return mon::PilotState::running;
}

mon::JobView Agent::job_view(const RunningJob& job) const {
  mon::JobView v;
  v.id = job.id;
  v.processors = job.processors;
  v.state = reclaiming_ || job.stop_requested ? mon::JobState::stopping
            : job.payload_started             ? mon::JobState::running
                                              : mon::JobState::preparing;
  auto h = job.supervisor->heartbeat();
  v.cpu_s = h.cpu_consumed_s;
  // WallClockTime counts processors x seconds, as DIRAC's does; the status shows the job's own.
  v.wall_s = h.wall_clock_s / std::max(1, job.processors);
  if (h.memory_used_mb > 0)
    v.memory_bytes = static_cast<std::int64_t>(h.memory_used_mb * (1 << 20));
  if (job.mc) {
    v.mc = true;
    v.events_done = events_done(*job.mc);
    v.events_planned = job.mc->job().events_requested;
  }
  v.minor_status = job.payload_started ? "Application" : "Job Initialization";
  return v;
}

mon::PilotStatus Agent::status_now() const {
  mon::PilotStatus s;
  s.pid = static_cast<int>(::getpid());
  s.version = version();
  s.host = s_.host_name;
  s.site = s_.base_request.site;
  s.source = s_.source->describe();
  s.pilot_reference = s_.base_request.pilot_reference;
  s.started_at = started_at_epoch_;
  s.updated_at = mon::epoch_now();
  s.period_s = s_.config.status_period_s;
  s.state = pilot_state();
  if (summary_.stop != StopReason::none) {
    s.stop_reason = stop_reason_text(summary_.stop);
    s.stop_detail = summary_.stop_detail;
  }
  auto view = budget_view();
  s.wall_s_left = view.wall_seconds_left;
  if (s.wall_s_left) s.wall_limited_by = {view.wall_source};
  if (budget_ && budget_->cpu_work_left_hs06s)
    s.cpu_work_left_hs06s = *budget_->cpu_work_left_hs06s;
  s.slots_total = slots_.total_processors;
  s.slots_busy = slots_.used_processors();
  for (const auto& [id, job] : jobs_) s.jobs.push_back(job_view(*job));
  s.counters = counters_;
  s.counters.jobs_finished[mon::JobOutcome::succeeded] = summary_.jobs_succeeded;
  s.counters.jobs_finished[mon::JobOutcome::failed] = summary_.jobs_failed;
  s.counters.jobs_finished[mon::JobOutcome::rescheduled] = summary_.jobs_rescheduled;
  s.counters.jobs_interrupted = summary_.jobs_interrupted;
  s.counters.events = summary_.events;
  s.reports_pending = static_cast<std::int64_t>(worker_.pending());
  return s;
}

// A failed write is logged once, and again once it works: the pilot's jobs matter more than
// its status file, and a full disk is reported by the job checks.
void Agent::publish_status() {
  auto status = status_now();
  publish_pilot_record(status);
  try {
    mon::write_status_file(mon::status_file_path(s_.workdir), status);
    if (!s_.config.metrics_textfile.empty())
      mon::write_metrics_textfile(s_.config.metrics_textfile, status);
    if (status_write_failing_) log_.info("status files written again");
    status_write_failing_ = false;
  } catch (const Error& e) {
    if (!status_write_failing_) log_.warn("cannot write the status files", {{"error", e.what()}});
    status_write_failing_ = true;
  }
}

void Agent::refresh_status_periodically() {
  publish_status();
  if (finished_) return;
  status_timer_.expires_after(std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(s_.config.status_period_s)));
  status_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) refresh_status_periodically();
  });
}

// The publisher's thread does the sending: nothing here waits for the broker.
void Agent::start_monitoring_records() {
  if (s_.config.stomp.host.empty()) return;
  stomp_ = std::make_unique<mon::StompPublisher>(s_.config.stomp, log_.child("stomp"));
  worker_.observe_statuses([this](const std::string& id, const jobs::StatusUpdate& u, bool final) {
    publish_job_change(id, u, final);
  });
}

void Agent::publish_job_change(const std::string& id, const jobs::StatusUpdate& u, bool final) {
  if (!stomp_) return;
  // A job the agent matched is Matched until its first status that says otherwise.
  auto& major = job_major_status_.try_emplace(id, "Matched").first->second;
  if (!u.status.empty()) major = u.status;
  mon::JobChange change;
  change.job_id = id;
  change.status = major;
  change.minor_status = u.minor_status;
  if (!u.application_status.empty()) change.application_status = u.application_status;
  change.at = epoch_of(u.time);
  stomp_->publish(mon::RecordKind::job, mon::job_record(status_now(), change).dump());
  if (final) job_major_status_.erase(id);
}

// Every stomp.pilot_period_s, and at the pilot's changes of state (the first, the stop, the end).
void Agent::publish_pilot_record(const mon::PilotStatus& status) {
  if (!stomp_) return;
  auto now = Clock::now();
  bool due =
      !last_pilot_record_ ||
      now - *last_pilot_record_ >= std::chrono::duration<double>(s_.config.stomp_pilot_period_s);
  if (!due && status.state == last_pilot_state_) return;
  last_pilot_record_ = now;
  last_pilot_state_ = status.state;
  stomp_->publish(mon::RecordKind::pilot, mon::pilot_record(status).dump());
}

void Agent::stop_monitoring_records() {
  if (stomp_) stomp_->stop(Clock::now() + kMonitoringFlush);
}

void Agent::count_request(mon::RequestResult result, double latency_s) {
  ++counters_.requests[result];
  counters_.request_latency.observe(latency_s);
}

}  // namespace pilot::agent
