// Watching the running job: its output, its end (SIGCHLD), and the samples the watchdog checks.

#include <algorithm>

#include "core/signals.hpp"
#include "core/trace.hpp"
#include "jobwrapper/workdir_probe.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::start_watching() {
  if (!adopted()) {  // an adopted job's keeper talks to its lost pilot, and is not our child
    read_control();
    wait_sigchld();
  }
  schedule_poll(std::min(spec.watchdog.poll_s, 0.2));  // an early first sample
  if (spec.heartbeat_s > 0) schedule_heartbeat();
  try_reap_keeper();
}

std::optional<std::string> Supervisor::State::take_control_line() {
  auto nl = control_lines.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  auto line = control_lines.substr(0, nl);
  control_lines.erase(0, nl + 1);
  return line;
}

void Supervisor::State::handle_control_lines() {
  while (auto line = take_control_line()) on_control_line(*line);
}

void Supervisor::State::read_control() {
  handle_control_lines();  // those that came with the first one
  auto self = weak_from_this();
  control.async_read_some(asio::buffer(control_chunk),
                          [self](boost::system::error_code ec, std::size_t n) {
                            auto s = self.lock();
                            if (!s || ec == asio::error::operation_aborted || s->finished) return;
                            s->control_lines.append(s->control_chunk.data(), n);
                            if (ec) {
                              // The keeper has ended (or closed its end): what it did is in
                              // keeper.json.
                              s->handle_control_lines();
                              s->try_reap_keeper();
                              return;
                            }
                            s->read_control();
                          });
}

void Supervisor::State::on_control_line(std::string_view line) {
  auto msg = parse_keeper_message(line);
  if (msg && msg->kind == KeeperMessage::Kind::ended) return payload_ended();
  if (msg && msg->kind == KeeperMessage::Kind::closed) return;  // its exit follows
  note(log::Level::warn, "unexpected line from the payload's keeper",
       {{"line", std::string(line)}, {"keeper_pid", keeper_pid}});
}

void Supervisor::State::wait_sigchld() {
  auto self = weak_from_this();
  sigchld.async_wait([self](boost::system::error_code ec, int) {
    auto s = self.lock();
    if (!s || ec) return;
    s->try_reap_keeper();
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
    // None once the payload has ended: what is left (its keeper closing the streams, leftovers
    // being stopped) is not the job's running state, and a sample of it would read as idle.
    if (!s || ec || s->finished || s->reaped) return;
    if (s->hooks.on_heartbeat) s->hooks.on_heartbeat(s->heartbeat());
    s->schedule_heartbeat();
  });
}

void Supervisor::State::try_reap_keeper() {
  if (!started || keeper_done) return;
  int status = 0;
  if (!keeper_ended(status)) return;
  keeper_done = true;
  if (!reaped) {
    // Its "ended" line may not have been read yet; a keeper that died without recording the
    // payload's end leaves the payload orphaned: it is still stopped and accounted as a tree,
    // and its exit is unknown.
    payload_ended();
    if (!reaped) {
      note(log::Level::error, "the payload's keeper ended before the payload",
           {{"keeper_pid", keeper_pid}, {"status", status}});
      rec.error = "the payload's keeper ended before the payload; its exit is unknown";
      reaped = true;
      after_payload_end();
    }
  }
  maybe_finish();
}

void Supervisor::State::payload_ended() {
  if (!started || reaped) return;
  std::optional<KeeperRecord> k;
  try {
    k = load_keeper_record(spec.workdir);
  } catch (const std::exception& e) {
    note(log::Level::error, "cannot read the keeper's record", {{"error", e.what()}});
  }
  if (!k || k->state == KeeperState::started) return;
  reaped = true;
  end_seen = Clock::now();
  trace::add("job.payload", end_seen - start_time);
  tree->root_ended(k->cpu_user_seconds, k->cpu_system_seconds);
  rec.exit_code = k->exit_code;
  rec.signal = k->signal;
  log::Fields ended{{"pid", pid}};
  if (rec.exit_code) ended.emplace_back("exit_code", *rec.exit_code);
  if (rec.signal) ended.emplace_back("signal", signal_name(*rec.signal));
  note(log::Level::info, "payload ended", ended);
  after_payload_end();
}

void Supervisor::State::after_payload_end() {
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
  try_reap_keeper();
  if (adopted()) payload_ended();  // no control line tells an adopter
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
    schedule_poll(phase == Phase::running && !reaped ? running_poll_period()
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
          kKeeperRecordName,
          kKeeperLogName,
          keeper_peek_path(spec.workdir, spec.stdout_name).filename().string(),
          spec.stdout_name,
          spec.stderr_name,
          "." + spec.stdout_name + ".tail",
          "." + spec.stderr_name + ".tail"};
}

}  // namespace pilot::jobwrapper
