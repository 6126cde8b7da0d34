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
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "jobwrapper/capped_output.hpp"
#include "jobwrapper/cgroup.hpp"
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
        out_pipe(c),
        err_pipe(c),
        sigchld(c, SIGCHLD),
        poll_timer(c),
        stop_timer(c),
        heartbeat_timer(c),
        drain_timer(c),
        watchdog(spec.watchdog) {}

  asio::io_context& ctx;
  JobSpec spec;
  Hooks hooks;
  log::Logger caller;
  log::Logger joblog;
  JobRecord rec;
  std::optional<JobCgroup> cgroup;
  std::unique_ptr<ProcessTree> tree;
  std::unique_ptr<CappedOutput> out, err;
  asio::readable_pipe out_pipe, err_pipe;
  std::array<char, 32768> out_buf{}, err_buf{};
  bool out_eof = true, err_eof = true;
  bool out_failed = false, err_failed = false;
  asio::signal_set sigchld;
  asio::steady_timer poll_timer, stop_timer, heartbeat_timer, drain_timer;
  Watchdog watchdog;

  pid_t pid = 0;
  bool started = false, reaped = false, draining = false;
  std::atomic<bool> finished = false;  // also read by other threads through finished()
  enum class Phase { running, stop_signal, term, kill } phase = Phase::running;
  Clock::time_point start_time;
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

  // The write ends of the payload's stdout and stderr pipes.
  struct PayloadPipes {
    UniqueFd out_w, err_w;
  };

  void start();
  void prepare_job_directory();
  void write_prepared_record();
  void open_payload_outputs();
  // nullopt when `cmd` is what to execute; else why the payload cannot be started.
  std::optional<std::string> resolve_command(Command& cmd) const;
  // nullopt when tracking is set up; else why the job cannot be tracked as configured.
  std::optional<std::string> setup_tracking();
  PayloadPipes open_payload_pipes();
  // nullopt when the payload runs; else why it could not be started.
  std::optional<std::string> launch(const Command& cmd, const PayloadPipes& pipes);
  std::optional<std::string> spawn(const Command& cmd, const PayloadPipes& pipes);
  void mark_running();
  void launch_failed(const std::string& why);

  // ---- event sources, reaping, sampling and checks (supervisor_watch.cpp) ---------------------
  void start_watching();
  template <std::size_t N>
  void read_stream(asio::readable_pipe& pipe, std::array<char, N>& buf, CappedOutput& sink,
                   bool& eof, bool& failed);
  void wait_sigchld();
  void schedule_poll(double after);
  void schedule_heartbeat();
  void try_reap();
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
  void finalize_stream(CappedOutput* o, StreamRecord& r);

  Supervisor* wrapper = nullptr;
};

}  // namespace pilot::jobwrapper
