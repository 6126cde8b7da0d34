#pragma once
// Runs one payload as a production job wrapper: launches it in its job directory, tracks its
// process tree, samples and checks it, writes job.json at every state change, and stops it when
// a check fires or someone asks:
//   stop signal to the payload's process group ONCE -> grace_s -> SIGTERM to the whole tree ->
//   term_grace_s -> SIGKILL to whatever is left (repeated until nothing is left).
// When the payload ends by itself, anything it left running gets SIGTERM then SIGKILL: nothing
// started by the payload survives the job. When it ends after the stop signal, the processes it
// left (which got the signal too) finish their stop within the same grace: the job ends when the
// whole tree has.
//
// The supervisor lives on an Asio io_context the caller runs (one thread). request_stop() may
// be called from any thread. Hooks run on the io_context thread.

#include <functional>
#include <memory>
#include <string>

#include "core/log.hpp"
#include "core/process_v2.hpp"
#include "jobwrapper/heartbeat.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/job_spec.hpp"
#include "jobwrapper/process_tree.hpp"

namespace pilot::jobwrapper {

class Supervisor;

struct Hooks {
  // After each sample while the job runs (e.g. reading a checkpoint file into record().extra,
  // then save_record(); or request_stop() on an external deadline).
  std::function<void(Supervisor&, const TreeUsage&)> on_poll;
  std::function<void(const Heartbeat&)> on_heartbeat;  // every JobSpec::heartbeat_s
  std::function<void(const JobRecord&)> on_finished;   // the final record, already saved
  // Once, when the payload runs (job.json says running, pid() is its pid). Not for adopted jobs.
  std::function<void(Supervisor&)> on_started;
};

class Supervisor {
 public:
  Supervisor(process::asio::io_context& ctx, JobSpec spec, Hooks hooks, log::Logger logger);
  // If the job is still running (the io_context was stopped early), every process of the tree
  // gets SIGKILL and the record is finished: RAII for the whole payload.
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Prepares the job directory, writes job.json (prepared) and starts the payload's keeper. Its
  // answer is awaited on the io_context: the payload runs (job.json running, hooks.on_started),
  // or the job finishes with outcome launch_failed. A stop requested before it runs is applied
  // once it does. Only a job directory that cannot be made or written throws pilot::Error.
  void start();

  // Takes over a job a lost pilot started and cannot finish (its record, which
  // adoption_refusal() accepts): from here it is supervised as if started here, sampled, checked,
  // stopped on request and finished from its keeper's record. Its pid comes from the keeper's
  // record when the lost pilot died before saving it, its wall time counts from its start; the
  // job log is appended to and extra.lost_pilot records who adopted it and when. Its keeper is
  // not this pilot's child: its end and the payload's are seen through pidfds (or, on kernels
  // without them, by polling every second). Throws pilot::Error when the record cannot be saved.
  void adopt(JobRecord record);

  // Thread-safe. Starts the stop sequence with reason stop_requested and `why` as detail; later
  // requests are logged and ignored (the stop signal goes out once).
  void request_stop(std::string why);

  bool finished() const;
  JobRecord& record();
  const JobRecord& record() const;
  void save_record();           // rewrites job.json (after a hook changed record().extra)
  Heartbeat heartbeat() const;  // current values, for callers that report on their own schedule
  pid_t pid() const;

 private:
  struct State;
  std::shared_ptr<State> s_;
};

// Convenience: runs the job on its own io_context until it has finished; returns the record.
JobRecord run_job(JobSpec spec, Hooks hooks = {}, log::Logger logger = {});

}  // namespace pilot::jobwrapper
