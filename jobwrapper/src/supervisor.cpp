#include "jobwrapper/supervisor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/signals.hpp"
#include "core/zstd_file.hpp"
#include "jobwrapper/capped_output.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/environment.hpp"
#include "jobwrapper/watchdog.hpp"
#include "jobwrapper/workdir_probe.hpp"
#include "launch_setup.hpp"

namespace pilot::jobwrapper {

namespace asio = process::asio;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kJobLogName = "pilot-job.log";
// Space kept in the job directory for the wrapper's own last words: a payload that fills the disk
// must not cost the final job record. Released (and the write retried) when a record write fails.
constexpr const char* kReserveName = ".pilot-disk-reserve";
constexpr off_t kReserveBytes = 1 << 20;
constexpr double kFastPoll = 0.1;   // while stopping or collecting leftovers
constexpr double kPipeDrain = 1.0;  // after the tree is gone, how long pipes may stay open

std::chrono::nanoseconds seconds(double s) {
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(0.0, s) * 1e9));
}

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The payload's PATH (the last PATH= of its environment), null when it has none.
const char* path_of(const std::vector<std::string>& env) {
  const char* path = nullptr;
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = e.c_str() + 5;
  return path;
}

// The job's own log: JSON, everything down to debug, only in the job directory.
log::Options job_log_options(const std::filesystem::path& workdir) {
  log::Options lo;
  lo.format = log::Format::json;
  lo.level = log::Level::debug;
  lo.to_stderr = false;
  lo.file = workdir / kJobLogName;
  return lo;
}

// The read end goes to `p`; the returned write end is for the payload.
UniqueFd pipe_into(asio::readable_pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("cannot create a pipe for the payload", errno);
  p.assign(fds[0]);
  return UniqueFd(fds[1]);
}

}  // namespace

struct Supervisor::State : std::enable_shared_from_this<Supervisor::State> {
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

  void save() {
    try {
      save_job_record(spec.workdir, rec);
      return;
    } catch (const std::exception& e) {
      if (!release_reserve()) {
        // The payload keeps running; the failure is in both logs and the next save retries.
        note(log::Level::error, "cannot write the job record",
             {{"file", (spec.workdir / kJobRecordName).string()}, {"error", e.what()}});
        return;
      }
      note(log::Level::warn,
           "job directory full: the wrapper's disk reserve is released for its record",
           {{"error", e.what()}, {"reserve_bytes", static_cast<std::int64_t>(kReserveBytes)}});
    }
    try {
      save_job_record(spec.workdir, rec);
    } catch (const std::exception& e) {
      note(log::Level::error, "cannot write the job record",
           {{"file", (spec.workdir / kJobRecordName).string()}, {"error", e.what()}});
    }
  }

  void make_reserve() {
    auto path = spec.workdir / kReserveName;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    int rc = fd.get() < 0 ? errno : ::posix_fallocate(fd.get(), 0, kReserveBytes);
    if (rc != 0) {
      std::error_code ec;
      std::filesystem::remove(path, ec);
      note(log::Level::warn, "cannot reserve disk space for the job record",
           {{"file", path.string()}, {"error", std::string(std::strerror(rc))}});
    }
  }

  // True when there was a reserve to release.
  bool release_reserve() {
    std::error_code ec;
    return std::filesystem::remove(spec.workdir / kReserveName, ec);
  }

  double wall() const {
    return started ? std::chrono::duration<double>(Clock::now() - start_time).count() : 0.0;
  }

  // ---- launch --------------------------------------------------------------------------
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

  void start() {
    prepare_job_directory();
    write_prepared_record();
    open_payload_outputs();
    Command cmd;
    if (auto why = resolve_command(cmd)) return launch_failed(*why);
    if (auto why = setup_tracking()) return launch_failed(*why);
    // Our write ends close when start() returns: from then on the pipes' end of file is the
    // payload's.
    PayloadPipes pipes = open_payload_pipes();
    if (auto why = launch(cmd, pipes)) return launch_failed(*why);
    mark_running();
    start_watching();
  }

  void prepare_job_directory() {
    std::error_code ec;
    std::filesystem::create_directories(spec.workdir, ec);
    if (ec)
      throw Error("cannot create job directory " + spec.workdir.string() + ": " + ec.message());
    spec.workdir = std::filesystem::absolute(spec.workdir);
    joblog = log::Logger(log::make_sink(job_log_options(spec.workdir)), "jobwrapper");
  }

  void write_prepared_record() {
    rec.job_id = spec.job_id;
    rec.argv = spec.argv;
    rec.workdir = spec.workdir.string();
    rec.marker = make_marker();
    rec.pilot_pid = ::getpid();
    rec.prepared_at = utc_now();
    rec.state = "prepared";
    rec.stdout_log.path = spec.stdout_name;
    rec.stderr_log.path = spec.stderr_name;
    save_job_record(spec.workdir, rec);  // an unwritable job directory is the caller's error
    make_reserve();
  }

  void open_payload_outputs() {
    out = std::make_unique<CappedOutput>(spec.workdir / spec.stdout_name, spec.log_cap_bytes,
                                         spec.peek_lines);
    err = std::make_unique<CappedOutput>(spec.workdir / spec.stderr_name, spec.log_cap_bytes,
                                         spec.peek_lines);
  }

  // nullopt when `cmd` is what to execute; else why the payload cannot be started.
  std::optional<std::string> resolve_command(Command& cmd) const {
    if (spec.argv.empty()) return "empty command";
    try {
      cmd.env = build_environment(current_environment(), spec.env, rec.marker);
    } catch (const Error& e) {
      return e.what();
    }
    auto exe = find_executable(spec.argv[0], path_of(cmd.env));
    if (!exe) return "executable not found: " + spec.argv[0];
    cmd.exe = *exe;
    cmd.args.assign(spec.argv.begin() + 1, spec.argv.end());
    return std::nullopt;
  }

  PayloadPipes open_payload_pipes() { return {pipe_into(out_pipe), pipe_into(err_pipe)}; }

  // nullopt when the payload runs; else why it could not be started.
  std::optional<std::string> launch(const Command& cmd, const PayloadPipes& pipes) {
    auto failure = spawn(cmd, pipes);
    if (failure && cgroup && spec.tracking == Tracking::automatic) {
      // A cgroup that looked writable may still refuse the move (delegation rules): /proc
      // tracking is the fallback, not a reason to lose the job.
      note(log::Level::warn, "launch into the job cgroup failed; retrying with /proc tracking",
           {{"error", *failure}, {"cgroup", cgroup->dir().string()}});
      cgroup.reset();
      rec.tracking = "proc";
      failure = spawn(cmd, pipes);
    }
    return failure;
  }

  std::optional<std::string> spawn(const Command& cmd, const PayloadPipes& pipes) {
    try {
      UniqueFd join_fd(cgroup ? cgroup->open_procs_for_join() : -1);
      process::bp::process proc(
          ctx, cmd.exe, cmd.args,
          process::bp::process_stdio{nullptr, pipes.out_w.get(), pipes.err_w.get()},
          process::bp::process_environment(cmd.env), process::bp::process_start_dir(spec.workdir),
          process::NewProcessGroup{true}, JoinCgroup{join_fd.get()}, ResetSignals{},
          process::CloseInheritedFds{});
      pid = proc.id();
      proc.detach();
      return std::nullopt;
    } catch (const std::exception& e) {
      return "cannot start " + cmd.exe.string() + ": " + e.what();
    }
  }

  void mark_running() {
    start_time = Clock::now();
    start_epoch = epoch_now();
    started = true;
    out_eof = err_eof = false;
    tree = std::make_unique<ProcessTree>(spec.proc_root, pid,
                                         std::string(kMarkerVariable) + "=" + rec.marker,
                                         cgroup ? &*cgroup : nullptr);
    rec.pid = pid;
    rec.started_at = utc_now();
    rec.state = "running";
    save();
    note(log::Level::info, "payload started",
         {{"pid", pid},
          {"command", spec.argv[0]},
          {"workdir", rec.workdir},
          {"tracking", rec.tracking}});
  }

  void start_watching() {
    read_stream(out_pipe, out_buf, *out, out_eof, out_failed);
    read_stream(err_pipe, err_buf, *err, err_eof, err_failed);
    wait_sigchld();
    schedule_poll(std::min(spec.watchdog.poll_s, 0.2));  // an early first sample
    if (spec.heartbeat_s > 0) schedule_heartbeat();
    try_reap();
  }

  // nullopt when tracking is set up; else why the job cannot be tracked as configured.
  std::optional<std::string> setup_tracking() {
    rec.tracking = "proc";
    if (spec.tracking == Tracking::proc) return std::nullopt;
    std::string why;
    try {
      auto self = read_file(spec.proc_root / "self" / "cgroup");
      auto place = self ? find_cgroup_place(spec.cgroup_root, *self, fs_kind(spec.cgroup_root),
                                            fs_kind(spec.cgroup_root / "unified"))
                        : std::nullopt;
      if (place) {
        cgroup.emplace(*place, "pilot-job-" + rec.marker);
        rec.tracking = cgroup->describe();
        return std::nullopt;
      }
      why = "no writable cgroup below the pilot's own under " + spec.cgroup_root.string();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (spec.tracking == Tracking::cgroup)
      return "cgroup tracking requested but unavailable: " + why;
    note(log::Level::debug, "tracking the payload through /proc", {{"why", why}});
    return std::nullopt;
  }

  void launch_failed(const std::string& why) {
    note(log::Level::error, "payload not started", {{"error", why}});
    rec.error = why;
    rec.outcome = "launch_failed";
    finish_record();
  }

  // ---- event sources ---------------------------------------------------------------------
  template <std::size_t N>
  void read_stream(asio::readable_pipe& pipe, std::array<char, N>& buf, CappedOutput& sink,
                   bool& eof, bool& failed) {
    auto self = weak_from_this();
    pipe.async_read_some(asio::buffer(buf), [self, &pipe, &buf, &sink, &eof, &failed](
                                                boost::system::error_code ec, std::size_t n) {
      auto s = self.lock();
      if (!s || ec == asio::error::operation_aborted) return;
      if (n > 0 && !failed) {
        try {
          sink.append(std::string_view(buf.data(), n));
        } catch (const std::exception& e) {
          // Keep draining so the payload never blocks on a full pipe; the loss is recorded.
          failed = true;
          s->note(log::Level::error, "cannot store payload output", {{"error", e.what()}});
          s->rec.error = std::string("payload output lost: ") + e.what();
        }
      }
      if (ec) {
        eof = true;
        s->maybe_finish();
        return;
      }
      s->read_stream(pipe, buf, sink, eof, failed);
    });
  }

  void wait_sigchld() {
    auto self = weak_from_this();
    sigchld.async_wait([self](boost::system::error_code ec, int) {
      auto s = self.lock();
      if (!s || ec) return;
      s->try_reap();
      if (!s->finished) s->wait_sigchld();
    });
  }

  void schedule_poll(double after) {
    poll_timer.expires_after(seconds(after));
    auto self = weak_from_this();
    poll_timer.async_wait([self](boost::system::error_code ec) {
      auto s = self.lock();
      if (!s || ec) return;
      s->poll();
    });
  }

  void schedule_heartbeat() {
    heartbeat_timer.expires_after(seconds(spec.heartbeat_s));
    auto self = weak_from_this();
    heartbeat_timer.async_wait([self](boost::system::error_code ec) {
      auto s = self.lock();
      if (!s || ec || s->finished) return;
      if (s->hooks.on_heartbeat) s->hooks.on_heartbeat(s->heartbeat());
      s->schedule_heartbeat();
    });
  }

  void try_reap() {
    if (!started || reaped) return;
    int status = 0;
    struct rusage ru {};
    pid_t r = ::wait4(pid, &status, WNOHANG, &ru);
    if (r != pid) return;
    reaped = true;
    tree->root_reaped(ru);
    if (WIFEXITED(status)) {
      rec.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      rec.signal = WTERMSIG(status);
    }
    log::Fields ended{{"pid", pid}};
    if (rec.exit_code) ended.emplace_back("exit_code", *rec.exit_code);
    if (rec.signal) ended.emplace_back("signal", signal_name(*rec.signal));
    note(log::Level::info, "payload ended", ended);
    tree->refresh(false);
    account();
    if (!tree->empty() && phase < Phase::term) {
      note(log::Level::info, "payload left processes behind; terminating them",
           {{"processes", tree->usage().processes}});
      escalate(SIGTERM);
    }
    maybe_finish();
    if (!finished) schedule_poll(kFastPoll);
  }

  // ---- sampling and checks ---------------------------------------------------------------
  void account() {
    const auto& u = tree->usage();
    // Monotonic: a process that ends between samples must not make the job "un-use" CPU.
    if (u.cpu_s() > cpu_s) {
      cpu_s = u.cpu_s();
      cpu_user_s = u.cpu_user_s;
      cpu_sys_s = u.cpu_system_s;
    }
    rec.cpu_seconds = cpu_s;
    rec.cpu_user_seconds = cpu_user_s;
    rec.cpu_system_seconds = cpu_sys_s;
    rec.max_pss_bytes = std::max(rec.max_pss_bytes, u.pss_bytes);
    rec.max_rss_bytes = std::max(rec.max_rss_bytes, u.rss_bytes);
    rec.max_vsize_bytes = std::max(rec.max_vsize_bytes, u.vsize_bytes);
    if (u.cgroup_memory_peak_bytes || u.cgroup_memory_bytes)
      rec.cgroup_max_memory_bytes =
          std::max({rec.cgroup_max_memory_bytes.value_or(0), u.cgroup_memory_peak_bytes.value_or(0),
                    u.cgroup_memory_bytes.value_or(0)});
    if (u.oom_kills) rec.oom_kills = u.oom_kills;
    rec.wall_seconds = wall();
  }

  void poll() {
    if (finished) return;
    try_reap();
    if (finished) return;
    const bool active = phase == Phase::running && !reaped;
    try {
      tree->refresh(active);
      account();
      if (active) run_checks();
      if (phase == Phase::kill && !tree->empty()) tree->signal_all(SIGKILL);
      if (hooks.on_poll && !finished) hooks.on_poll(*wrapper, tree->usage());
      if (reaped) maybe_finish();
    } catch (const std::exception& e) {
      // A failed sample (unreadable /proc, a hook's error) must not orphan the payload: the job
      // keeps being supervised and the failure is in both logs.
      note(log::Level::error, "sampling the job failed", {{"error", e.what()}});
    }
    if (!finished)
      schedule_poll(phase == Phase::running && !reaped ? spec.watchdog.poll_s
                                                       : std::min(spec.watchdog.poll_s, kFastPoll));
  }

  void run_checks() {
    const auto& w = spec.watchdog;
    const auto& u = tree->usage();
    Sample s;
    s.wall_s = wall();
    s.cpu_s = cpu_s;
    s.pss_bytes = u.pss_bytes;
    s.cgroup_memory_bytes = u.cgroup_memory_bytes;
    s.oom_kills = u.oom_kills;
    if (w.min_free_disk_bytes > 0) s.free_disk_bytes = free_disk_bytes(spec.workdir);
    if (w.looping_s > 0) {
      auto newest = newest_file_mtime(spec.workdir, wrapper_files());
      s.files_idle_s = epoch_now() - std::max(newest.value_or(start_epoch), start_epoch);
    }
    auto findings = watchdog.check(s);
    if (findings.empty()) return;
    std::optional<Finding> act;
    for (auto& f : findings) {
      // A kill finding is recorded once: the stop sequence it starts is the rest of the story.
      if (f.kill && act) continue;
      rec.checks.push_back({utc_now(), f.reason, f.detail, f.kill});
      note(f.kill ? log::Level::error : log::Level::warn, reason_text(f.reason),
           {{"reason", std::string(reason_code(f.reason))},
            {"detail", f.detail},
            {"action", f.kill ? "kill" : "warn"}});
      if (f.kill) act = f;
    }
    save();
    if (act) begin_stop(act->reason, act->detail);
  }

  std::set<std::string> wrapper_files() const {
    return {kJobRecordName,
            kJobLogName,
            kReserveName,
            spec.stdout_name,
            spec.stderr_name,
            "." + spec.stdout_name + ".tail",
            "." + spec.stderr_name + ".tail"};
  }

  // ---- stopping --------------------------------------------------------------------------
  void begin_stop(Reason reason, const std::string& detail) {
    if (finished || !started) return;
    if (phase != Phase::running) {
      note(log::Level::info, "stop already in progress; request ignored",
           {{"reason", std::string(reason_code(reason))}, {"detail", detail}});
      return;
    }
    phase = Phase::stop_signal;
    rec.reason = reason;
    rec.reason_detail = detail;
    rec.stop_requested_at = utc_now();
    rec.state = "stopping";
    // Only the payload's own process group, only once: an interruptible payload finishes the
    // event in flight and finalises; signalling the whole tree at once would break that.
    int rc = ::kill(-pid, spec.stop_signal);
    rec.signals_sent.push_back(
        {utc_now(), signal_name(spec.stop_signal), "group", rc == 0 ? 1u : 0u});
    note(log::Level::warn, "stopping the payload",
         {{"reason", std::string(reason_code(reason))},
          {"detail", detail},
          {"signal", signal_name(spec.stop_signal)},
          {"grace_s", spec.grace_s}});
    save();
    arm_stop_timer(spec.grace_s, SIGTERM);
    schedule_poll(kFastPoll);
  }

  void arm_stop_timer(double after, int next_signal) {
    stop_timer.expires_after(seconds(after));
    auto self = weak_from_this();
    stop_timer.async_wait([self, next_signal](boost::system::error_code ec) {
      auto s = self.lock();
      if (!s || ec || s->finished) return;
      s->escalate(next_signal);
    });
  }

  void escalate(int sig) {
    tree->refresh(false);
    if (tree->empty() && reaped) return maybe_finish();
    phase = sig == SIGKILL ? Phase::kill : Phase::term;
    std::size_t n = tree->signal_all(sig);
    ::kill(-pid, sig);  // the group too, in case the scan raced with a fork
    rec.signals_sent.push_back({utc_now(), signal_name(sig), "tree", n});
    note(log::Level::warn, "signalled the whole payload tree",
         {{"signal", signal_name(sig)}, {"processes", n}});
    save();
    if (sig == SIGTERM) arm_stop_timer(spec.term_grace_s, SIGKILL);
    schedule_poll(kFastPoll);
  }

  // ---- the end -----------------------------------------------------------------------------
  void maybe_finish() {
    if (finished || !reaped) return;
    tree->refresh(false);
    if (!tree->empty()) return;
    if (!(out_eof && err_eof)) {
      // Whatever still holds the pipes is not ours (it escaped tracking): do not wait for it.
      if (draining) return;
      draining = true;
      drain_timer.expires_after(seconds(kPipeDrain));
      auto self = weak_from_this();
      drain_timer.async_wait([self](boost::system::error_code ec) {
        auto s = self.lock();
        if (!s || ec || s->finished) return;
        s->note(log::Level::warn, "payload output still open after the job ended; closing it");
        s->out_eof = s->err_eof = true;
        s->finish();
      });
      return;
    }
    finish();
  }

  void finish() {
    if (finished) return;
    account();
    if (rec.reason)
      rec.outcome = *rec.reason == Reason::stop_requested ? "stopped" : "killed";
    else
      rec.outcome = rec.exit_code == 0 ? "success" : "failed";
    finish_record();
  }

  void finish_record() {
    finished = true;
    boost::system::error_code ignored;
    poll_timer.cancel();
    stop_timer.cancel();
    heartbeat_timer.cancel();
    drain_timer.cancel();
    sigchld.cancel(ignored);
    out_pipe.close(ignored);
    err_pipe.close(ignored);
    finalize_stream(out.get(), rec.stdout_log);
    finalize_stream(err.get(), rec.stderr_log);
    if (cgroup && !cgroup->remove())
      note(log::Level::warn, "cannot remove the job cgroup", {{"cgroup", cgroup->dir().string()}});
    rec.state = "finished";
    rec.finished_at = utc_now();
    save();
    release_reserve();  // what comes after (the caller's own marks) is small
    note(rec.outcome == "success" ? log::Level::info : log::Level::warn, "job finished",
         {{"outcome", rec.outcome},
          {"reason", rec.reason ? std::string(reason_code(*rec.reason)) : std::string("none")},
          {"wall_s", rec.wall_seconds},
          {"cpu_s", rec.cpu_seconds},
          {"max_pss_bytes", rec.max_pss_bytes}});
    joblog.flush();
    if (hooks.on_finished) hooks.on_finished(rec);
  }

  void finalize_stream(CappedOutput* o, StreamRecord& r) {
    if (!o) return;
    try {
      o->finish();
      r.bytes = o->total_bytes();
      r.dropped_bytes = o->dropped_bytes();
      if (spec.compress_logs) r.path = compress_file_zstd(o->path()).filename().string();
    } catch (const std::exception& e) {
      note(log::Level::error, "cannot finalise payload output", {{"error", e.what()}});
      if (rec.error.empty()) rec.error = std::string("payload output: ") + e.what();
    }
  }

  Heartbeat heartbeat() const {
    Heartbeat h;
    h.cpu_consumed_s = cpu_s;
    h.wall_clock_s = wall() * std::max(1, spec.processors);
    if (tree) {
      const auto& u = tree->usage();
      h.memory_used_mb = static_cast<double>(u.rss_bytes) / 1048576.0;
      h.vsize_mb = static_cast<double>(u.vsize_bytes) / 1048576.0;
    }
    h.load_average = read_load_average(spec.proc_root);
    if (auto f = free_disk_bytes(spec.workdir))
      h.available_disk_mb = static_cast<double>(*f) / (1024.0 * 1024.0);
    if (out) h.standard_output = out->peek();
    return h;
  }

  // Last resort when the supervisor goes away with the job still running.
  void abandon() noexcept {
    try {
      if (!started || finished) return;
      note(log::Level::error, "supervisor destroyed while the payload ran; killing the tree");
      for (int i = 0; i < 50; ++i) {
        ::kill(-pid, SIGKILL);
        tree->signal_all(SIGKILL);
        if (!reaped) {
          int status = 0;
          struct rusage ru {};
          if (::wait4(pid, &status, WNOHANG, &ru) == pid) {
            reaped = true;
            tree->root_reaped(ru);
            if (WIFSIGNALED(status)) rec.signal = WTERMSIG(status);
            if (WIFEXITED(status)) rec.exit_code = WEXITSTATUS(status);
          }
        }
        tree->refresh(false);
        if (reaped && tree->empty()) break;
        ::usleep(20000);
      }
      rec.error = "supervisor destroyed while the payload ran";
      rec.outcome = "killed";
      account();
      finish_record();
    } catch (...) {
    }
  }

  Supervisor* wrapper = nullptr;
};

Supervisor::Supervisor(process::asio::io_context& ctx, JobSpec spec, Hooks hooks,
                       log::Logger logger)
    : s_(std::make_shared<State>(ctx, std::move(spec), std::move(hooks), std::move(logger))) {
  s_->wrapper = this;
}

Supervisor::~Supervisor() {
  s_->abandon();
}

void Supervisor::start() {
  s_->start();
}

void Supervisor::request_stop(std::string why) {
  std::weak_ptr<State> w = s_;
  asio::post(s_->ctx, [w, why = std::move(why)] {
    if (auto s = w.lock()) s->begin_stop(Reason::stop_requested, why);
  });
}

bool Supervisor::finished() const {
  return s_->finished;
}
JobRecord& Supervisor::record() {
  return s_->rec;
}
const JobRecord& Supervisor::record() const {
  return s_->rec;
}
void Supervisor::save_record() {
  s_->save();
}
Heartbeat Supervisor::heartbeat() const {
  return s_->heartbeat();
}
pid_t Supervisor::pid() const {
  return s_->pid;
}

JobRecord run_job(JobSpec spec, Hooks hooks, log::Logger logger) {
  asio::io_context ctx;
  Supervisor sup(ctx, std::move(spec), std::move(hooks), std::move(logger));
  sup.start();
  ctx.run();
  return sup.record();
}

}  // namespace pilot::jobwrapper
