#include "jobwrapper/lost_job.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/signals.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/process_tree.hpp"

namespace pilot::jobwrapper {

namespace {

// The payload outlived its pilot: stopped as its pilot would have, so that it finalises.
void stop_payload(JobRecord& rec, ProcessTree& tree, int stop_signal, double grace_s) {
  ::kill(-rec.pid, stop_signal);
  rec.signals_sent.push_back(
      {utc_now(), signal_name(stop_signal), "group", tree.usage().processes});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace_s);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    tree.refresh(false);
    if (tree.empty()) break;
  }
  if (!tree.empty()) {
    auto n = tree.signal_all(SIGKILL);
    rec.signals_sent.push_back({utc_now(), "SIGKILL", "tree", n});
  }
}

}  // namespace

std::optional<JobRecord> finish_lost_job(const std::filesystem::path& workdir, double grace_s,
                                         const std::filesystem::path& proc_root,
                                         const log::Logger& logger, const LostJobHooks& hooks) {
  auto rec = load_job_record(workdir);
  if (!rec || rec->state == JobState::finished) return std::nullopt;
  bool unrecorded = rec->pid <= 0;
  bool found = find_unrecorded_payload(*rec, proc_root);
  if (found)
    logger.warn("the lost pilot's payload runs without a recorded pid: found by its marker",
                {{"job_id", rec->job_id}, {"pid", rec->pid}});
  int stop_signal = hooks.stop_signal ? hooks.stop_signal(*rec) : SIGINT;
  logger.warn("found a job left by a lost pilot", {{"job_id", rec->job_id},
                                                   {"workdir", workdir.string()},
                                                   {"state", std::string(to_string(rec->state))},
                                                   {"pid", rec->pid}});
  // The lost pilot's job cgroup, if it had one: its members are the payload's whole tree, and it
  // is removed once they are gone.
  auto cgroup = JobCgroup::adopt(rec->tracking);
  if (rec->pid > 1) {  // kill(-1) would reach every process
    ProcessTree tree(proc_root, rec->pid, std::string(kMarkerVariable) + "=" + rec->marker,
                     cgroup ? &*cgroup : nullptr);
    tree.refresh(false);
    if (!tree.empty()) stop_payload(*rec, tree, stop_signal, grace_s);
  }
  rec->state = JobState::finished;
  rec->finished_at = utc_now();
  auto recovered_by = "; recovered by pilot " + std::to_string(::getpid());
  if (unrecorded && !found) {
    rec->outcome = Outcome::not_started;
    rec->error = "the pilot was lost before the payload started" + recovered_by;
  } else {
    rec->outcome = Outcome::lost;
    rec->error = "the pilot supervising this job was lost" + recovered_by;
  }
  if (found) rec->extra[kLostPilotKey] = {{"payload_found_by_marker", true}};
  if (hooks.complete) hooks.complete(*rec);
  save_job_record(workdir, *rec);
  std::error_code ignored;  // a reserve already gone (released before the pilot died) is fine
  std::filesystem::remove(workdir / kReserveName, ignored);
  return rec;
}

bool payload_found_by_marker(const JobRecord& rec) {
  auto it = rec.extra.find(kLostPilotKey);
  return it != rec.extra.end() && it->is_object() && it->value("payload_found_by_marker", false);
}

}  // namespace pilot::jobwrapper
