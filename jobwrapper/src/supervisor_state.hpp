#pragma once
// The state of one supervised job, shared by the files of the supervisor, one file for each part
// of the job's life (the sections below name them); supervisor.cpp is the public Supervisor.

#include <signal.h>
#include <sys/types.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/posix/stream_descriptor.hpp>

#include "core/fs.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/keeper.hpp"
#include "jobwrapper/supervisor.hpp"
#include "jobwrapper/watchdog.hpp"

namespace pilot::jobwrapper {

namespace asio = process::asio;

struct Supervisor::State : std::enable_shared_from_this<Supervisor::State> {
  using Clock = std::chrono::steady_clock;

  static constexpr const char* kJobLogName = "pilot-job.log";
  static constexpr off_t kReserveBytes = 1 << 20;
  static constexpr double kFastPoll = 0.1;   // while stopping or collecting leftovers
  static constexpr double kPipeDrain = 1.0;  // after the tree is gone, how long pipes may stay open
  static constexpr double kKeeperGrace = 10.0;  // after asking the keeper to close, before SIGKILL

  static std::chrono::nanoseconds seconds(double s) {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(0.0, s) * 1e9));
  }

  static double epoch_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  State(asio::io_context& c, JobSpec sp, Hooks h, log::Logger l)
      : ctx(c),
        spec(std::move(sp)),
        hooks(std::move(h)),
        caller(std::move(l)),
        control(c),
        sigchld(c, SIGCHLD),
        poll_timer(c),
        stop_timer(c),
        heartbeat_timer(c),
        drain_timer(c),
        keeper_exit(c),
        payload_exit(c),
        watchdog(spec.watchdog) {}

  asio::io_context& ctx;
  JobSpec spec;
  Hooks hooks;
  log::Logger caller;
  log::Logger joblog;
  JobRecord rec;
  std::optional<JobCgroup> cgroup;
  std::unique_ptr<ProcessTree> tree;
  // The keeper's control pipe (its stdout): one line per step of the payload (keeper.hpp).
  asio::readable_pipe control;
  std::array<char, 512> control_chunk{};
  std::string control_lines;
  asio::signal_set sigchld;
  asio::steady_timer poll_timer, stop_timer, heartbeat_timer, drain_timer;
  // An adopted job's keeper is not our child: pidfds say when it and the payload end.
  asio::posix::stream_descriptor keeper_exit, payload_exit;
  Watchdog watchdog;

  pid_t pid = 0;         // the payload
  pid_t keeper_pid = 0;  // its keeper, our child
  // reaped: the payload has ended (its keeper says so); keeper_done: the keeper has ended too,
  // the payload's streams are closed.
  bool started = false, reaped = false, keeper_done = false, draining = false;
  // The keeper runs and its answer is awaited; a stop asked meanwhile is applied once the payload
  // runs.
  bool starting = false;
  std::optional<std::pair<Reason, std::string>> deferred_stop;
  Clock::time_point keeper_spawned_at;
  bool payload_started_unseen = false;  // stop_unseen_payload
  // Adopted from a lost pilot (supervisor_adopt.cpp) when its keeper is known by its record.
  bool without_pidfds = false;     // the kernel has none: the polls look every second
  bool payload_exit_seen = false;  // its keeper is about to record the end
  std::optional<KeeperRecord> adopted_keeper;
  bool adopted() const { return adopted_keeper.has_value(); }
  std::atomic<bool> finished = false;  // also read by other threads through finished()
  enum class Phase { running, stop_signal, term, kill } phase = Phase::running;
  Clock::time_point start_time;
  Clock::time_point end_seen;  // the payload's end read from the keeper (trace phases only)
  double start_epoch = 0;
  double cpu_s = 0, cpu_user_s = 0, cpu_sys_s = 0;

  // Every line goes to the job's own JSON log and to the caller's log.
  void note(log::Level level, std::string_view msg, const log::Fields& fields = {}) {
    joblog.log(level, msg, fields);
    caller.log(level, msg, fields);
  }

  double wall() const {
    return started ? std::chrono::duration<double>(Clock::now() - start_time).count() : 0.0;
  }

  // ---- job.json and the disk reserve kept for it (supervisor_record.cpp) ----------------------
  void save();
  void make_reserve();
  // True when there was a reserve to release.
  bool release_reserve();

  // ---- launch (supervisor_launch.cpp) ---------------------------------------------------------
  // What the payload is started as: resolved before anything is created for it.
  struct Command {
    std::filesystem::path exe;
    std::vector<std::string> args;  // after argv[0]
    std::vector<std::string> env;
  };

  void start();
  void prepare_job_directory();
  void write_prepared_record();
  // nullopt when `cmd` is what to execute; else why the payload cannot be started.
  std::optional<std::string> resolve_command(Command& cmd) const;
  // nullopt when tracking is set up; else why the job cannot be tracked as configured.
  std::optional<std::string> setup_tracking();
  // Starts the keeper; its answer comes to keeper_answered on the io_context.
  void launch(Command cmd);
  // Starts the keeper, which starts the payload; nullopt, or why the keeper could not start.
  std::optional<std::string> spawn(const Command& cmd);
  KeeperRequest keeper_request(const Command& cmd) const;
  void await_keeper_answer(std::shared_ptr<Command> cmd);
  // `first`: the keeper's first control line (or all it said before it ended).
  void keeper_answered(Command cmd, const std::string& first);
  // The keeper did not start the payload: reaped, and why (with what stop_unseen_payload did).
  std::string keeper_failure(const std::string& first, const std::optional<KeeperMessage>& msg);
  // Once more with /proc tracking when the job cgroup was the trouble; else the launch failed.
  void launch_refused(Command cmd, const std::string& why);
  void payload_running();
  // Blocks until the keeper's first control line (or its end).
  std::string first_control_line();
  // The supervisor goes away while the keeper's answer is awaited: waited for here.
  void finish_start_now();
  // A keeper that died without a word may have started the payload (keeper.json says so): it is
  // killed, and the launch not retried. What to add to the launch failure.
  std::string stop_unseen_payload();
  void mark_running();
  void launch_failed(const std::string& why);

  // ---- adopting a lost pilot's job (supervisor_adopt.cpp) -------------------------------------
  void adopt(JobRecord record);
  void take_over_record(JobRecord record, const KeeperRecord& keeper);
  void watch_adopted_processes();
  // Calls on_exit once `pid` has ended (now, if it has already); false when the kernel cannot
  // say (no pidfd_open).
  // `still_ours`, when set, is asked once the pidfd is open: a false answer means `pid` is
  // another process now.
  bool watch_exit(asio::posix::stream_descriptor& fd, pid_t pid, void (*on_exit)(State&),
                  const std::function<bool()>& still_ours);
  void adopted_payload_exited();
  // Whether the keeper has ended (reaped here when it is our child).
  bool keeper_ended(int& status);
  double running_poll_period() const;

  // ---- event sources, reaping, sampling and checks (supervisor_watch.cpp) ---------------------
  void start_watching();
  void read_control();
  // The first whole line the keeper sent and nobody has read yet, taken out of control_lines.
  std::optional<std::string> take_control_line();
  void handle_control_lines();
  void on_control_line(std::string_view line);
  void wait_sigchld();
  void schedule_poll(double after);
  void schedule_heartbeat();
  // The keeper has ended: reaped here, so that no zombie is left.
  void try_reap_keeper();
  // The payload has ended: what its keeper recorded.
  void payload_ended();
  // Leftovers of a payload that ended by itself are terminated; the job finishes once its tree
  // and keeper have.
  void after_payload_end();
  void poll();
  void run_checks();
  std::set<std::string> wrapper_files() const;

  // ---- what the job used (supervisor_accounting.cpp) ------------------------------------------
  void account();
  Heartbeat heartbeat() const;

  // ---- stopping (supervisor_stop.cpp) ---------------------------------------------------------
  void begin_stop(Reason reason, const std::string& detail);
  void arm_stop_timer(double after, int next_signal);
  void escalate(int sig);
  // Last resort when the supervisor goes away with the job still running.
  void abandon() noexcept;

  // ---- the end (supervisor_finish.cpp) --------------------------------------------------------
  void maybe_finish();
  void finish();
  void finish_record();
  // The keeper's last record into ours: the exit, and the streams once the keeper closed them.
  void take_keeper_record();

  Supervisor* wrapper = nullptr;
};

}  // namespace pilot::jobwrapper
