#pragma once
// The agent's calls to the job source: requests, preparations, heartbeats and reports run on one
// worker thread, in the order they were posted, so that a slow server never holds the event loop
// and a job's reports reach the server in the order they were made. A failed report is logged
// and left to the source's own buffer (the source's contract keeps it on disk). At the end,
// finish() delivers what is left and gives up on a server that does not answer once the pilot
// has been signalled. Reports made one after another, with no other call posted between them,
// go to the source together (JobSource::report: the local queue writes them in one go), still
// in order and at the place of the first.

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "core/log.hpp"
#include "jobs/job_source.hpp"

namespace pilot::agent {

using JobParameters = std::vector<std::pair<std::string, std::string>>;

// How long a signalled pilot still waits for the job source (reports, a request or a job's
// preparation in flight) before it stops waiting for the server.
inline constexpr auto kSourceGraceAfterSignal = std::chrono::seconds(2);
// Once it stopped waiting, every call fails at once: the worker only writes what is left to disk.
inline constexpr auto kDrainAfterGivingUp = std::chrono::seconds(1);

class SourceWorker {
 public:
  SourceWorker(jobs::JobSource& source, log::Logger log);

  jobs::JobSource& source() { return source_; }

  // Runs `call` on the worker thread after everything posted before it.
  void post(std::function<void()> call);
  // Calls posted and not yet done (reports, heartbeats, requests): what waits for the source.
  std::size_t pending() const { return pending_.load(); }
  // Runs `call` there too and waits for what it returns (or throws): for the start-up, before
  // the event loop runs.
  template <class F>
  auto call(F f) -> decltype(f()) {
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto result = task->get_future();
    post([task] { (*task)(); });
    return result.get();
  }

  void status(const std::string& id, jobs::StatusUpdate update);  // stamped now
  // Told of every status reported, on the caller's thread, as stamped; `final`: the job's last
  // (the monitoring records' one place to hear of them).
  using StatusObserver =
      std::function<void(const std::string& id, const jobs::StatusUpdate& update, bool final)>;
  void observe_statuses(StatusObserver observer) { observer_ = std::move(observer); }
  void parameters(const std::string& id, JobParameters params);
  // A job that ends before its payload started: finish_job only, its final status stamped now.
  void finish_unstarted(const std::string& id, jobs::FinishedJob job);
  // Parameters and results, then the mark in job.json that keeps a restarted pilot from
  // reporting the job again. The job's final status is stamped now, as status() stamps.
  void final_report(const std::string& id, JobParameters params, jobs::FinishedJob job);

  // The worker is held by a server that does not answer: its calls give up, what they carried
  // stays on disk. Once only.
  void stop_waiting();
  bool stopped_waiting() const { return stopped_waiting_; }

  // Delivers the reports still queued, retried with back-off for `retry_s`, then left on disk
  // for the next pilot. A stop signal (or `signalled`: one came before) cuts the retries short;
  // a worker still held by the server a moment later is left running. Returns true when it was
  // left: the caller must end the process before destroying what the worker uses.
  bool finish(double retry_s, std::optional<std::string> signalled);

 private:
  static void stamp_now(jobs::FinishedJob& job);
  // Reports made since the last other call was posted, delivered by one task on the worker.
  struct ReportBatch {
    std::vector<std::pair<std::string, jobs::JobReport>> reports;  // job id, report
    bool started = false;  // taken by the worker: the next report starts a new batch
  };
  void queue_report(const std::string& id, jobs::JobReport report);
  void deliver(ReportBatch& batch);
  void deliver_reports(double retry_s);
  void mark_reported(const std::filesystem::path& dir);

  void tell(const std::string& id, const jobs::StatusUpdate& u, bool final) const {
    if (observer_) observer_(id, u, final);
  }

  jobs::JobSource& source_;
  log::Logger log_;
  StatusObserver observer_;
  // Created while `pilot run` blocks the stop signals, so its thread never takes them. Held by
  // pointer so that a pilot ending during a server's silence can leave the thread behind.
  std::unique_ptr<boost::asio::thread_pool> pool_ = std::make_unique<boost::asio::thread_pool>(1);
  std::mutex batch_mutex_;
  std::shared_ptr<ReportBatch> open_batch_;  // guarded by batch_mutex_
  std::atomic<bool> abandon_{false};
  std::atomic<std::size_t> pending_{0};
  std::atomic<bool> done_{false};  // set by the worker, which may outlive the agent's run()
  bool stopped_waiting_ = false;
};

}  // namespace pilot::agent
