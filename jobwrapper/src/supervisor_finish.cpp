// The end of the job: waiting for its output, then the final record and the hooks.

#include "core/zstd_file.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::maybe_finish() {
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

void Supervisor::State::finish() {
  if (finished) return;
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
  out_pipe.close(ignored);
  err_pipe.close(ignored);
  finalize_stream(out.get(), rec.stdout_log);
  finalize_stream(err.get(), rec.stderr_log);
  if (cgroup && !cgroup->remove())
    note(log::Level::warn, "cannot remove the job cgroup", {{"cgroup", cgroup->dir().string()}});
  rec.state = JobState::finished;
  rec.finished_at = utc_now();
  save();
  release_reserve();  // what comes after (the caller's own marks) is small
  note(rec.outcome == Outcome::success ? log::Level::info : log::Level::warn, "job finished",
       {{"outcome", std::string(to_string(rec.outcome))},
        {"reason", rec.reason ? std::string(reason_code(*rec.reason)) : std::string("none")},
        {"wall_s", rec.wall_seconds},
        {"cpu_s", rec.cpu_seconds},
        {"max_pss_bytes", rec.max_pss_bytes}});
  joblog.flush();
  if (hooks.on_finished) hooks.on_finished(rec);
}

void Supervisor::State::finalize_stream(CappedOutput* o, StreamRecord& r) {
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

}  // namespace pilot::jobwrapper
