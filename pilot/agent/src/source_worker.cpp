#include "source_worker.hpp"

#include <signal.h>

#include <thread>

#include <boost/asio/post.hpp>

#include "agent/agent.hpp"
#include "core/signals.hpp"
#include "jobwrapper/job_record.hpp"

namespace pilot::agent {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

SourceWorker::SourceWorker(jobs::JobSource& source, log::Logger log)
    : source_(source), log_(std::move(log)) {}

void SourceWorker::post(std::function<void()> call) {
  {
    std::lock_guard lock(batch_mutex_);
    open_batch_.reset();  // reports made after this call go after it
  }
  ++pending_;
  asio::post(*pool_, [this, call = std::move(call)] {
    // Counted down however the call ends: a call that throws has ended too.
    struct Done {
      std::atomic<std::size_t>& n;
      ~Done() { --n; }
    } done{pending_};
    call();
  });
}

// A final status is stamped as status() stamps: it is made after the statuses reported just
// before it, and must not carry the earlier time at which the agent worked it out.
void SourceWorker::stamp_now(jobs::FinishedJob& f) {
  if (f.final_status) f.final_status->time = std::chrono::system_clock::now();
}

void SourceWorker::status(const std::string& id, jobs::StatusUpdate u) {
  u.time = std::chrono::system_clock::now();
  tell(id, u, false);
  queue_report(id, jobs::JobReport{std::move(u), {}});
}

void SourceWorker::parameters(const std::string& id, JobParameters params) {
  queue_report(id, jobs::JobReport{std::nullopt, std::move(params)});
}

void SourceWorker::queue_report(const std::string& id, jobs::JobReport report) {
  std::lock_guard lock(batch_mutex_);
  if (open_batch_ && !open_batch_->started) {
    open_batch_->reports.emplace_back(id, std::move(report));
    return;
  }
  open_batch_ = std::make_shared<ReportBatch>();
  open_batch_->reports.emplace_back(id, std::move(report));
  asio::post(*pool_, [this, batch = open_batch_] { deliver(*batch); });
}

// Each job's consecutive reports in one call; a failure is logged and the others still go.
void SourceWorker::deliver(ReportBatch& batch) {
  std::vector<std::pair<std::string, jobs::JobReport>> reports;
  {
    std::lock_guard lock(batch_mutex_);
    batch.started = true;
    reports = std::move(batch.reports);
  }
  for (std::size_t i = 0; i < reports.size();) {
    const std::string& id = reports[i].first;
    std::vector<jobs::JobReport> run;
    for (; i < reports.size() && reports[i].first == id; ++i)
      run.push_back(std::move(reports[i].second));
    try {
      source_.report(id, run);
    } catch (const std::exception& e) {
      log_.warn("job report failed", {{"job_id", id},
                                      {"reports", static_cast<std::int64_t>(run.size())},
                                      {"error", e.what()}});
    }
  }
}

void SourceWorker::finish_unstarted(const std::string& id, jobs::FinishedJob f) {
  stamp_now(f);
  if (f.final_status) tell(id, *f.final_status, true);
  post([this, id, f = std::move(f)] {
    try {
      source_.finish_job(id, f);
    } catch (const std::exception& e) {
      log_.warn("finishing a job that did not start failed", {{"job_id", id}, {"error", e.what()}});
    }
  });
}

void SourceWorker::final_report(const std::string& id, JobParameters params, jobs::FinishedJob f) {
  stamp_now(f);
  if (f.final_status) tell(id, *f.final_status, true);
  // With the final statuses just made, in one write where the source can.
  if (!params.empty()) queue_report(id, jobs::JobReport{std::nullopt, std::move(params)});
  post([this, id, f = std::move(f)] {
    try {
      source_.finish_job(id, f);
    } catch (const std::exception& e) {
      log_.warn("final report failed", {{"job_id", id}, {"error", e.what()}});
    }
    mark_reported(f.workdir);
  });
}

void SourceWorker::mark_reported(const std::filesystem::path& dir) {
  try {
    auto rec = jobwrapper::load_job_record(dir);
    if (!rec) return;
    rec->extra["agent"]["reported"] = jobwrapper::utc_now();
    jobwrapper::save_job_record(dir, *rec);
  } catch (const std::exception& e) {
    log_.error("cannot mark a job as reported; a restarted pilot would report it again",
               {{"dir", dir.string()}, {"error", e.what()}});
  }
}

void SourceWorker::stop_waiting() {
  if (stopped_waiting_) return;
  stopped_waiting_ = true;
  abandon_ = true;
  log_.warn(
      "the job source does not answer: the pilot stops waiting for it; what it did not "
      "take stays on disk for the next pilot");
  source_.stop_waiting();
}

// While the worker delivers, this thread waits for stop signals (blocked here, so they queue).
bool SourceWorker::finish(double retry_s, std::optional<std::string> signalled) {
  sigset_t set = stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  post([this, retry_s] {
    deliver_reports(retry_s);
    done_ = true;
  });
  std::optional<Clock::time_point> leave_at;
  // A pilot stopped by a signal tries what is queued once, not for retry_s: whoever sent it
  // will not wait that long.
  auto leave_soon = [&](const std::string& why) {
    log_.warn("stopped by a signal: undelivered reports stay on disk for the next pilot",
              {{"signal", why}});
    abandon_ = true;
    leave_at = Clock::now() + kSourceGraceAfterSignal;
  };
  if (signalled) leave_soon(*signalled);
  while (!done_) {
    timespec step{0, 100'000'000};
    int sig = sigtimedwait(&set, nullptr, &step);
    if (sig > 0 && !leave_at) leave_soon(signal_name(sig));
    if (!leave_at || Clock::now() < *leave_at || done_) continue;
    if (!stopped_waiting_) {
      stop_waiting();
      leave_at = Clock::now() + kDrainAfterGivingUp;
      continue;
    }
    log_.warn("the job source does not answer: the pilot ends without waiting for it");
    // Its thread is blocked in a call that cannot give up (name resolution): it is left
    // running, with everything it uses (`pilot run` ends the process before those go).
    (void)pool_.release();
    return true;
  }
  pool_->join();
  return false;
}

// The last reports (final statuses of every job) outlive a server outage: retried with back-off
// for retry_s, then left on disk (the report buffer) for the next pilot.
void SourceWorker::deliver_reports(double retry_s) {
  auto end = Clock::now() +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(retry_s));
  double wait_s = 0.5;
  for (;;) {
    if (abandon_) return;
    try {
      if (source_.flush()) return;
    } catch (const std::exception& e) {
      log_.warn("flushing reports failed", {{"error", e.what()}});
    }
    auto wait = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s));
    if (Clock::now() + wait > end) {
      log_.warn("some reports could not be delivered; they are kept on disk for the next pilot",
                {{"retried_s", retry_s}});
      return;
    }
    log_.info("reports not delivered yet, retrying", {{"in_s", wait_s}});
    for (auto until = Clock::now() + wait; Clock::now() < until;
         std::this_thread::sleep_for(std::chrono::milliseconds(50)))
      if (abandon_) return;
    wait_s = std::min(wait_s * 2, 30.0);
  }
}

}  // namespace pilot::agent
