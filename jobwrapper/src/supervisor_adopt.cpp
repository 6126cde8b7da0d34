// Taking over a job a lost pilot started: its record continued here, its keeper and payload
// watched through pidfds, since neither is this pilot's child.

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/post.hpp>

#include "core/error.hpp"
#include "jobwrapper/lost_job.hpp"
#include "jobwrapper/procfs.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::adopt(JobRecord record) {
  prepare_job_directory();
  auto keeper = load_keeper_record(spec.workdir);
  if (!keeper || keeper->marker != record.marker)
    throw Error("cannot adopt job " + record.job_id + ": " +
                (spec.workdir / kKeeperRecordName).string() + " is not its keeper's record");
  take_over_record(std::move(record), *keeper);
  save();
  note(log::Level::warn, "adopted a lost pilot's running job",
       {{"pid", pid},
        {"keeper_pid", keeper_pid},
        {"workdir", rec.workdir},
        {"running_s", wall()},
        {"tracking", rec.tracking}});
  watch_adopted_processes();
  start_watching();
}

void Supervisor::State::take_over_record(JobRecord record, const KeeperRecord& keeper) {
  rec = std::move(record);
  adopted_keeper = keeper;
  // A pilot lost between the keeper's start and its own record left them unsaved.
  if (rec.pid <= 1) rec.pid = keeper.payload_pid;
  if (rec.keeper_pid <= 1) rec.keeper_pid = keeper.keeper_pid;
  if (rec.started_at.empty()) rec.started_at = keeper.started_at;
  pid = rec.pid;
  keeper_pid = rec.keeper_pid;
  start_epoch = utc_epoch(rec.started_at).value_or(epoch_now());
  start_time = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(epoch_now() - start_epoch));
  if (auto c = JobCgroup::adopt(rec.tracking)) cgroup.emplace(std::move(*c));
  tree = std::make_unique<ProcessTree>(spec.proc_root, pid,
                                       std::string(kMarkerVariable) + "=" + rec.marker,
                                       cgroup ? &*cgroup : nullptr);
  // Monotonic from what the lost pilot had counted.
  cpu_s = rec.cpu_seconds;
  cpu_user_s = rec.cpu_user_seconds;
  cpu_sys_s = rec.cpu_system_seconds;
  started = true;
  rec.state = JobState::running;
  rec.pilot_pid = ::getpid();
  auto& lost = rec.extra[kLostPilotKey];
  if (!lost.is_object()) lost = nlohmann::ordered_json::object();
  lost["adopted"].push_back({{"by", ::getpid()}, {"at", utc_now()}});
}

void Supervisor::State::watch_adopted_processes() {
  bool keeper_watched = watch_exit(
      keeper_exit, keeper_pid, [](State& s) { s.try_reap_keeper(); }, nullptr);
  // The payload's parent is its keeper while it runs: a pid reused since is not it.
  auto is_payload = [this] {
    auto st = read_proc_stat(spec.proc_root, pid);
    return st && st->ppid == keeper_pid;
  };
  bool payload_watched = watch_exit(
      payload_exit, pid, [](State& s) { s.adopted_payload_exited(); }, is_payload);
  without_pidfds = !keeper_watched || !payload_watched;
  if (without_pidfds)
    note(log::Level::info, "no pidfds on this kernel: the adopted job is looked at every second");
}

bool Supervisor::State::watch_exit(asio::posix::stream_descriptor& fd, pid_t target,
                                   void (*on_exit)(State&),
                                   const std::function<bool()>& still_ours) {
  auto self = weak_from_this();
  auto exited = [self, on_exit] {
    auto s = self.lock();
    if (s && !s->finished) on_exit(*s);
  };
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, target, 0));
  if (pidfd < 0 && errno != ESRCH) return false;
  if (pidfd < 0 || (still_ours && !still_ours())) {
    if (pidfd >= 0) ::close(pidfd);
    asio::post(ctx, exited);  // already gone
    return true;
  }
  fd.assign(pidfd);
  fd.async_wait(asio::posix::stream_descriptor::wait_read, [exited](boost::system::error_code ec) {
    if (!ec) exited();
  });
  return true;
}

void Supervisor::State::adopted_payload_exited() {
  payload_exit_seen = true;
  payload_ended();
  // Its keeper records the end right after reaping it: looked for again shortly.
  if (!reaped && !finished) schedule_poll(kFastPoll);
}

bool Supervisor::State::keeper_ended(int& status) {
  if (!adopted()) return ::waitpid(keeper_pid, &status, WNOHANG) == keeper_pid;
  // Reaped by whoever inherited it; a zombie has no command line, so it reads as ended.
  return !keeper_alive(*adopted_keeper, spec.proc_root);
}

double Supervisor::State::running_poll_period() const {
  if (adopted() && payload_exit_seen) return std::min(spec.watchdog.poll_s, kFastPoll);
  if (adopted() && without_pidfds) return std::min(spec.watchdog.poll_s, 1.0);
  return spec.watchdog.poll_s;
}

}  // namespace pilot::jobwrapper
