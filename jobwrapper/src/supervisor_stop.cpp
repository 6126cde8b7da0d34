// Stopping the job: the stop signal once, then SIGTERM and SIGKILL to the whole tree.

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/signals.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::begin_stop(Reason reason, const std::string& detail) {
  if (starting && !deferred_stop) deferred_stop.emplace(reason, detail);
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
  rec.state = JobState::stopping;
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

void Supervisor::State::arm_stop_timer(double after, int next_signal) {
  stop_timer.expires_after(seconds(after));
  auto self = weak_from_this();
  stop_timer.async_wait([self, next_signal](boost::system::error_code ec) {
    auto s = self.lock();
    if (!s || ec || s->finished) return;
    s->escalate(next_signal);
  });
}

void Supervisor::State::escalate(int sig) {
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

void Supervisor::State::abandon() noexcept {
  try {
    if (starting) finish_start_now();
    if (!started || finished) return;
    note(log::Level::error, "supervisor destroyed while the payload ran; killing the tree");
    for (int i = 0; i < 50; ++i) {
      if (!reaped) ::kill(-pid, SIGKILL);
      tree->signal_all(SIGKILL);
      int status = 0;
      if (!keeper_done && keeper_ended(status)) keeper_done = true;
      tree->refresh(false);
      if (keeper_done && tree->empty()) break;
      ::usleep(20000);
    }
    if (!keeper_done) {
      // Its streams are held by something outside the tree: its record is what it is.
      ::kill(keeper_pid, SIGKILL);
      if (!adopted()) ::waitpid(keeper_pid, nullptr, 0);
      keeper_done = true;
    }
    if (!reaped) {
      if (auto k = load_keeper_record(spec.workdir)) apply_keeper_record(*k, rec);
      reaped = true;
    }
    rec.error = "supervisor destroyed while the payload ran";
    rec.outcome = Outcome::killed;
    account();
    finish_record();
  } catch (...) {
    // Called from the destructor, which must not throw whatever failed: the tree was killed
    // above, and a record that cannot be written leaves job.json unfinished for recovery.
  }
}

}  // namespace pilot::jobwrapper
