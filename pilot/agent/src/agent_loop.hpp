#pragma once
// The agent's event loop (private to the agent module). Its parts live in files named for them:
// agent.cpp (the pilot's life: signals, budget, deadlines, the end), agent_requests.cpp (asking
// the source for work) and agent_jobs.cpp (one job from its match to its final report). The
// calls to the job source go through SourceWorker; lost jobs are lost_jobs.cpp's.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/agent.hpp"
#include "agent/job_plan.hpp"
#include "agent/request_pacing.hpp"
#include "agent/slots.hpp"
#include "core/fs.hpp"
#include "jobwrapper/supervisor.hpp"
#include "mc/interruptible.hpp"
#include "mc/mc_run.hpp"
#include "monitor/pilot_status.hpp"
#include "monitor/stomp_publisher.hpp"
#include "source_worker.hpp"

namespace pilot::agent {

using Clock = std::chrono::steady_clock;

// The Source field of DIRAC's reports: its JobAgent reports as "JobAgent@<site>", the job
// wrapper as "JobWrapper".
inline constexpr const char* kWrapperSource = "JobWrapper";

// How long an ending pilot keeps sending its last monitoring records to a slow broker.
inline constexpr std::chrono::seconds kMonitoringFlush{5};

struct RunningJob {
  std::string id;
  jobs::JobDescription description;
  int processors = 1;
  std::unique_ptr<jobwrapper::Supervisor> supervisor;
  std::optional<mc::McRun> mc;
  bool payload_started = false;  // the keeper said the payload runs
  bool stop_requested = false;   // a Kill from the source
};

class Agent {
 public:
  explicit Agent(AgentSetup& s);
  AgentSummary run();

 private:
  // --- the pilot's life (agent.cpp) ---
  void watch_budget();
  void give_up_on_source_soon();
  void wait_signal();
  void reclaim(StopReason reason, const std::string& why);
  void stop(StopReason reason, const std::string& detail);
  void on_budget(const std::vector<mjf::Change>& changes, const mjf::ResourceBudget& b);
  std::optional<mc::StopBy> slot_end() const;
  void check_deadlines();
  double grace_s() const;
  double poll_period() const;
  BudgetView budget_view() const;
  void maybe_finish();

  // --- requests (agent_requests.cpp) ---
  StopReason stop_check(std::string& detail);
  // The pacing's clock: seconds since the agent started.
  double pacing_now() const;
  Clock::time_point pacing_time(double t) const;
  void first_request_after_spread();
  void try_request();
  void wait_for_next_request();
  std::vector<jobs::ResourceRequest> requests_for_free_slots() const;
  void request_on_worker(std::vector<jobs::ResourceRequest> requests);
  // What the source holds when nothing matched (JobSource::has_pending_jobs, holds_no_jobs).
  struct SourceContents {
    bool pending = true;
    bool empty = false;
  };
  void pace(RequestOutcome outcome);
  double seconds_to_next_request() const;
  void on_request_result(std::optional<jobs::MatchedJob> match, const std::string& error,
                         bool refused, SourceContents contents);

  // --- jobs (agent_jobs.cpp) ---
  std::string agent_source() const;
  PilotFacts pilot_facts() const;
  void fail_before_start(const jobs::MatchedJob& m, const std::string& minor,
                         const std::string& detail,
                         std::optional<jobs::JobDescription> description = std::nullopt);
  void file_unstarted(const jobs::MatchedJob& m, const std::string& detail,
                      std::optional<jobs::JobDescription> description, jobs::StatusUpdate u);
  void hand_back_unstarted(const jobs::MatchedJob& m, const std::string& why,
                           jobs::JobDescription description);
  void start_job(jobs::MatchedJob m);
  std::optional<jobs::JobDescription> accept_job(const jobs::MatchedJob& m);
  void prepare_job(jobs::MatchedJob m, jobs::JobDescription d, int processors);
  void on_prepared(jobs::MatchedJob m, jobs::JobDescription d, int processors,
                   const std::filesystem::path& jobdir, const jobs::PreparedJob& prepared,
                   const std::string& minor, const std::string& error);
  void launch_job(const jobs::MatchedJob& m, jobs::JobDescription d, int processors,
                  const std::filesystem::path& jobdir, const jobs::PreparedJob& prepared);
  jobwrapper::ContainerSpec job_container(const jobwrapper::JobSpec& spec) const;
  jobwrapper::Hooks job_hooks(RunningJob& job);
  void send_heartbeat(const std::string& id, const nlohmann::json& data);
  void start_supervisor(const jobs::MatchedJob& m, std::unique_ptr<RunningJob> job);
  void on_commands(const std::string& id, const std::vector<jobs::Command>& cmds);
  void job_finished(const std::string& id);
  void set_aside_earlier_attempt(const std::filesystem::path& jobdir);

  // --- what the operators see (agent_status.cpp) ---
  monitor::PilotState pilot_state() const;
  monitor::JobView job_view(const RunningJob& job) const;
  monitor::PilotStatus status_now() const;
  void publish_status();
  void refresh_status_periodically();
  void count_request(monitor::RequestResult result, double latency_s);
  void start_monitoring_records();
  void publish_job_change(const std::string& id, const jobs::StatusUpdate& u, bool final);
  void publish_pilot_record(const monitor::PilotStatus& status);
  void stop_monitoring_records();

  // --- a lost pilot's running job taken over (agent_adopt.cpp) ---
  bool adopt_job(const std::filesystem::path& dir, const jobwrapper::JobRecord& rec);
  std::optional<std::string> adoption_refusal(const std::filesystem::path& dir,
                                              const jobwrapper::JobRecord& rec) const;
  std::unique_ptr<RunningJob> adopted_job(const std::filesystem::path& dir,
                                          const jobwrapper::JobRecord& rec);
  bool source_adopts(const std::string& id, const std::filesystem::path& dir);
  void supervise_adopted(std::unique_ptr<RunningJob> job, const jobwrapper::JobRecord& rec);

  AgentSetup& s_;
  log::Logger log_;
  boost::asio::io_context ctx_;
  SourceWorker worker_;
  // Read once: they hold for the pilot's life.
  const JobParameters node_parameters_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer request_timer_;
  boost::asio::steady_timer give_up_timer_;  // give_up_on_source_soon
  boost::asio::steady_timer status_timer_;   // refresh_status_periodically
  Slots slots_;
  LoopPolicy policy_;
  RequestPacing pacing_;
  std::optional<mjf::ResourceBudget> budget_;
  std::unique_ptr<mjf::WatcherThread> watcher_thread_;
  std::map<std::string, std::unique_ptr<RunningJob>> jobs_;
  Clock::time_point start_ = Clock::now();
  double started_at_epoch_ = 0;  // start_, on the wall clock (the status file's times)
  monitor::Counters counters_;   // requests and heartbeats; the jobs' counts are summary_'s
  bool status_write_failing_ = false;
  std::unique_ptr<monitor::StompPublisher> stomp_;       // stomp.host set
  std::map<std::string, std::string> job_major_status_;  // the last major status each job reported
  std::optional<Clock::time_point> last_pilot_record_;
  monitor::PilotState last_pilot_state_ = monitor::PilotState::starting;
  Clock::time_point next_request_ = Clock::now();
  std::optional<Clock::time_point> lifetime_end_;
  int preparing_ = 0;  // jobs the source is preparing on the worker thread
  bool requesting_ = false, stopping_ = false, reclaiming_ = false, finished_ = false;
  bool signalled_ = false, give_up_armed_ = false;
  bool waiting_for_own_jobs_ = false;  // nothing pending, only this pilot's jobs running
  AgentSummary summary_;
  std::vector<UniqueFd> recovery_locks_;  // recover_lost_jobs
};

}  // namespace pilot::agent
