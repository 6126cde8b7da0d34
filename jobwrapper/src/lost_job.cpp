#include "jobwrapper/lost_job.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/signals.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/keeper.hpp"
#include "jobwrapper/process_tree.hpp"

namespace pilot::jobwrapper {

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kLeftoverGrace = 10;  // a payload that ended alone: its leftovers' SIGTERM grace
constexpr double kStreamsGrace = 2;    // for the keeper to see the streams close by themselves
constexpr double kKeeperGrace = 10;    // after asking it to close them, before SIGKILL

bool wait_for(const std::function<bool()>& done, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// The payload (or what it left) outlived its pilot: stopped with `sig` to its group, as its pilot
// would have, so that it finalises; whatever is left after the grace gets SIGKILL.
void stop_payload(JobRecord& rec, ProcessTree& tree, int sig, double grace_s) {
  ::kill(-rec.pid, sig);
  rec.signals_sent.push_back({utc_now(), signal_name(sig), "group", tree.usage().processes});
  if (!wait_for(
          [&] {
            tree.refresh(false);
            return tree.empty();
          },
          grace_s)) {
    auto n = tree.signal_all(SIGKILL);
    rec.signals_sent.push_back({utc_now(), "SIGKILL", "tree", n});
  }
}

// keeper.json, nullopt when there is none or it cannot be read (the job record decides alone;
// why is logged when there is a logger).
std::optional<KeeperRecord> read_keeper(const std::filesystem::path& workdir,
                                        const log::Logger* logger = nullptr) {
  try {
    return load_keeper_record(workdir);
  } catch (const Error& e) {
    if (logger) logger->warn("the lost job's keeper record cannot be read", {{"error", e.what()}});
    return std::nullopt;
  }
}

// The keeper ends once the payload's streams close: given a moment for that, then asked to stop
// waiting for them, then killed.
void let_keeper_finish(const KeeperRecord& k, const std::filesystem::path& proc_root,
                       const log::Logger& logger) {
  auto gone = [&] { return !keeper_alive(k, proc_root); };
  if (wait_for(gone, kStreamsGrace)) return;
  ::kill(k.keeper_pid, SIGTERM);
  if (wait_for(gone, kKeeperGrace)) return;
  logger.warn("the lost job's keeper does not end; killing it", {{"keeper_pid", k.keeper_pid}});
  ::kill(k.keeper_pid, SIGKILL);
  wait_for(gone, kKeeperGrace);
}

}  // namespace

std::optional<JobRecord> finish_lost_job(const std::filesystem::path& workdir, double grace_s,
                                         const std::filesystem::path& proc_root,
                                         const log::Logger& logger, const LostJobHooks& hooks) {
  auto rec = load_job_record(workdir);
  if (!rec || rec->state == JobState::finished) return std::nullopt;
  auto keeper = read_keeper(workdir, &logger);
  bool unrecorded = rec->pid <= 0;
  bool found = false;
  const char* found_by = "its marker";
  if (unrecorded && keeper && keeper->marker == rec->marker && keeper->payload_pid > 1) {
    rec->pid = keeper->payload_pid;
    rec->keeper_pid = keeper->keeper_pid;
    found = true;
    found_by = "its keeper's record";
  } else {
    found = find_unrecorded_payload(*rec, proc_root);
  }
  if (found)
    logger.warn(
        std::string("the lost pilot's payload runs without a recorded pid: found by ") + found_by,
        {{"job_id", rec->job_id}, {"pid", rec->pid}});
  // A pilot recovering it before this one may have stopped it and died: what it decided is in the
  // record, saved before its stop signal.
  auto& lost = rec->extra[kLostPilotKey];
  if (!lost.is_object()) lost = nlohmann::ordered_json::object();
  bool stopped_before = lost.value("stop_sent", false);
  found = found || lost.value("payload_found_by_marker", false);
  // Ended by itself while its pilot was gone: its keeper recorded its exit, before anyone stopped
  // it. One killed by a signal went with its pilot (a slot killed whole, the OOM killer): lost.
  bool ended_alone = !stopped_before && keeper && keeper->marker == rec->marker &&
                     keeper->state != KeeperState::started && keeper->exit_code.has_value();
  int stop_signal = hooks.stop_signal ? hooks.stop_signal(*rec) : SIGINT;
  logger.warn("found a job left by a lost pilot", {{"job_id", rec->job_id},
                                                   {"workdir", workdir.string()},
                                                   {"state", std::string(to_string(rec->state))},
                                                   {"pid", rec->pid},
                                                   {"payload_ended", ended_alone}});
  // The lost pilot's job cgroup, if it had one: its members are the payload's whole tree, and it
  // is removed once they are gone.
  auto cgroup = JobCgroup::adopt(rec->tracking);
  if (rec->pid > 1) {  // kill(-1) would reach every process
    ProcessTree tree(proc_root, rec->pid, std::string(kMarkerVariable) + "=" + rec->marker,
                     cgroup ? &*cgroup : nullptr);
    tree.refresh(false);
    if (!tree.empty() && !ended_alone) {
      lost["stop_sent"] = true;
      if (found) lost["payload_found_by_marker"] = true;
      save_job_record(workdir, *rec);
    }
    if (!tree.empty())
      stop_payload(*rec, tree, ended_alone ? SIGTERM : stop_signal,
                   ended_alone ? kLeftoverGrace : grace_s);
  }
  if (keeper && keeper->marker == rec->marker) {
    let_keeper_finish(*keeper, proc_root, logger);
    if (auto k = read_keeper(workdir, &logger)) apply_keeper_record(*k, *rec);
  }
  rec->state = JobState::finished;
  rec->finished_at = utc_now();
  auto recovered_by = "; recovered by pilot " + std::to_string(::getpid());
  if (unrecorded && !found) {
    rec->outcome = Outcome::not_started;
    rec->error = "the pilot was lost before the payload started" + recovered_by;
  } else if (ended_alone) {
    // What its pilot would have recorded (Supervisor::State::finish): the keeper kept the exit,
    // the record any stop its pilot had asked for.
    if (rec->reason)
      rec->outcome = *rec->reason == Reason::stop_requested ? Outcome::stopped : Outcome::killed;
    else
      rec->outcome = rec->exit_code == 0 ? Outcome::success : Outcome::failed;
  } else {
    rec->outcome = Outcome::lost;
    rec->error = "the pilot supervising this job was lost" + recovered_by;
  }
  if (found) lost["payload_found_by_marker"] = true;
  if (ended_alone) lost["payload_ended_alone"] = true;
  lost["recovered_by"] = ::getpid();
  if (hooks.complete) hooks.complete(*rec);
  save_job_record(workdir, *rec);
  std::error_code ignored;  // a reserve already gone (released before the pilot died) is fine
  std::filesystem::remove(workdir / kReserveName, ignored);
  return rec;
}

std::optional<std::string> lost_payload_state(const JobRecord& record,
                                              const std::filesystem::path& workdir,
                                              const std::filesystem::path& proc_root) {
  if (record.state == JobState::finished) return std::nullopt;
  auto keeper = read_keeper(workdir);
  // Its end first: a keeper that recorded it may still be closing the streams or exiting.
  if (keeper && keeper->marker == record.marker && keeper->state != KeeperState::started) {
    auto how = keeper->exit_code ? "exit " + std::to_string(*keeper->exit_code)
               : keeper->signal  ? "signal " + std::to_string(*keeper->signal)
                                 : std::string("exit unknown");
    return "its payload ended (" + how + ") after its pilot was lost";
  }
  if (keeper && keeper->marker == record.marker && keeper_alive(*keeper, proc_root))
    return "its payload's keeper (pid " + std::to_string(keeper->keeper_pid) + ") still runs";
  JobRecord r = record;
  if (find_unrecorded_payload(r, proc_root))
    return "its payload (pid " + std::to_string(r.pid) + ", found by its marker) still runs";
  if (r.pid <= 1) return std::nullopt;
  // By /proc and the marker, not its cgroup: an adopted JobCgroup removes the directory once
  // empty, and this only looks.
  ProcessTree tree(proc_root, r.pid, std::string(kMarkerVariable) + "=" + r.marker, nullptr);
  tree.refresh(false);
  if (tree.empty()) return std::nullopt;
  return "its payload (pid " + std::to_string(r.pid) + ", " +
         std::to_string(tree.usage().processes) + " processes) still runs";
}

std::optional<std::string> adoption_refusal(const JobRecord& record,
                                            const std::filesystem::path& workdir,
                                            const std::filesystem::path& proc_root) {
  if (record.state == JobState::finished) return "it has finished";
  if (record.state == JobState::stopping) return "its lost pilot was stopping it";
  auto keeper = read_keeper(workdir);
  if (!keeper || keeper->marker != record.marker) return "its keeper left no record of it";
  if (keeper->state != KeeperState::started) return "its payload has ended";
  if (keeper->payload_pid <= 1 || (record.pid > 1 && record.pid != keeper->payload_pid))
    return "its keeper's record names another payload";
  if (!keeper_alive(*keeper, proc_root)) return "its keeper is gone";
  return std::nullopt;
}

bool payload_found_by_marker(const JobRecord& rec) {
  auto it = rec.extra.find(kLostPilotKey);
  return it != rec.extra.end() && it->is_object() && it->value("payload_found_by_marker", false);
}

}  // namespace pilot::jobwrapper
