// The end of the job: waiting for its output, then the final record and the hooks.

#include <signal.h>

#include "core/trace.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::maybe_finish() {
  if (finished || !reaped) return;
  tree->refresh(false);
  if (!tree->empty()) return;
  if (!keeper_done) {
    // Whatever still holds the payload's streams is not ours (it escaped tracking): the keeper
    // is told to stop waiting for them, and killed if it does not.
    if (draining) return;
    draining = true;
    drain_timer.expires_after(seconds(kPipeDrain));
    auto self = weak_from_this();
    drain_timer.async_wait([self](boost::system::error_code ec) {
      auto s = self.lock();
      if (!s || ec || s->finished || s->keeper_done) return;
      s->note(log::Level::warn, "payload output still open after the job ended; closing it",
              {{"keeper_pid", s->keeper_pid}});
      ::kill(s->keeper_pid, SIGTERM);
      s->drain_timer.expires_after(seconds(kKeeperGrace));
      s->drain_timer.async_wait([self](boost::system::error_code ec2) {
        auto s2 = self.lock();
        if (!s2 || ec2 || s2->finished || s2->keeper_done) return;
        s2->note(log::Level::error, "the payload's keeper does not end; killing it",
                 {{"keeper_pid", s2->keeper_pid}});
        ::kill(s2->keeper_pid, SIGKILL);
      });
    });
    return;
  }
  finish();
}

void Supervisor::State::finish() {
  if (finished) return;
  if (reaped) trace::add("job.after_payload", Clock::now() - end_seen);
  trace::Phase timed("job.finish");
  account();
  if (rec.reason)
    rec.outcome = *rec.reason == Reason::stop_requested ? Outcome::stopped : Outcome::killed;
  else
    rec.outcome = rec.exit_code == 0 ? Outcome::success : Outcome::failed;
  finish_record();
}

void Supervisor::State::finish_record() {
  finished = true;
  boost::system::error_code ignored;
  poll_timer.cancel();
  stop_timer.cancel();
  heartbeat_timer.cancel();
  drain_timer.cancel();
  sigchld.cancel(ignored);
  control.close(ignored);
  keeper_exit.close(ignored);
  payload_exit.close(ignored);
  take_keeper_record();
  if (cgroup && !cgroup->remove())
    note(log::Level::warn, "cannot remove the job cgroup", {{"cgroup", cgroup->dir().string()}});
  rec.state = JobState::finished;
  rec.finished_at = utc_now();
  // Released for this last write, so that no finished job keeps it: a pilot killed right after
  // the save leaves nothing to clean up. What comes after (the caller's own marks) is small.
  release_reserve();
  save();
  note(rec.outcome == Outcome::success ? log::Level::info : log::Level::warn, "job finished",
       {{"outcome", std::string(to_string(rec.outcome))},
        {"reason", rec.reason ? std::string(reason_code(*rec.reason)) : std::string("none")},
        {"wall_s", rec.wall_seconds},
        {"cpu_s", rec.cpu_seconds},
        {"max_pss_bytes", rec.max_pss_bytes}});
  joblog.flush();
  if (hooks.on_finished) hooks.on_finished(rec);
}

void Supervisor::State::take_keeper_record() {
  if (!keeper_pid) return;  // never started
  try {
    if (auto k = load_keeper_record(spec.workdir)) {
      apply_keeper_record(*k, rec);
      if (k->state != KeeperState::closed && rec.error.empty())
        rec.error = "payload output not finalised: its keeper ended before closing it";
    }
  } catch (const std::exception& e) {
    note(log::Level::error, "cannot read the keeper's record", {{"error", e.what()}});
    if (rec.error.empty()) rec.error = std::string("keeper record: ") + e.what();
  }
}

}  // namespace pilot::jobwrapper
