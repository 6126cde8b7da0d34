// Watching the running job: its output, its end (SIGCHLD), and the samples the watchdog checks.

#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>

#include "core/signals.hpp"
#include "jobwrapper/workdir_probe.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::start_watching() {
  read_stream(out_pipe, out_buf, *out, out_eof, out_failed);
  read_stream(err_pipe, err_buf, *err, err_eof, err_failed);
  wait_sigchld();
  schedule_poll(std::min(spec.watchdog.poll_s, 0.2));  // an early first sample
  if (spec.heartbeat_s > 0) schedule_heartbeat();
  try_reap();
}

template <std::size_t N>
void Supervisor::State::read_stream(asio::readable_pipe& pipe, std::array<char, N>& buf,
                                    CappedOutput& sink, bool& eof, bool& failed) {
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

void Supervisor::State::wait_sigchld() {
  auto self = weak_from_this();
  sigchld.async_wait([self](boost::system::error_code ec, int) {
    auto s = self.lock();
    if (!s || ec) return;
    s->try_reap();
    if (!s->finished) s->wait_sigchld();
  });
}

void Supervisor::State::schedule_poll(double after) {
  poll_timer.expires_after(seconds(after));
  auto self = weak_from_this();
  poll_timer.async_wait([self](boost::system::error_code ec) {
    auto s = self.lock();
    if (!s || ec) return;
    s->poll();
  });
}

void Supervisor::State::schedule_heartbeat() {
  heartbeat_timer.expires_after(seconds(spec.heartbeat_s));
  auto self = weak_from_this();
  heartbeat_timer.async_wait([self](boost::system::error_code ec) {
    auto s = self.lock();
    if (!s || ec || s->finished) return;
    if (s->hooks.on_heartbeat) s->hooks.on_heartbeat(s->heartbeat());
    s->schedule_heartbeat();
  });
}

void Supervisor::State::try_reap() {
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
  if (!tree->empty() && phase == Phase::running) {
    note(log::Level::info, "payload left processes behind; terminating them",
         {{"processes", tree->usage().processes}});
    escalate(SIGTERM);
  } else if (!tree->empty() && phase == Phase::stop_signal) {
    // The stop signal reached the whole group: a launcher that does not wait for its children
    // once interrupted (dirac-jobexec) leaves them finishing their event. The stop sequence
    // already running decides how long they get.
    note(log::Level::info, "payload's main process ended; its other processes finish their stop",
         {{"processes", tree->usage().processes}});
  }
  maybe_finish();
  if (!finished) schedule_poll(kFastPoll);
}

void Supervisor::State::poll() {
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

void Supervisor::State::run_checks() {
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

std::set<std::string> Supervisor::State::wrapper_files() const {
  return {kJobRecordName,
          kJobLogName,
          kReserveName,
          spec.stdout_name,
          spec.stderr_name,
          "." + spec.stdout_name + ".tail",
          "." + spec.stderr_name + ".tail"};
}

}  // namespace pilot::jobwrapper
