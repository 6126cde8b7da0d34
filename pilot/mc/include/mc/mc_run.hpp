#pragma once
// One interruptible MC job under the job wrapper, the same for `pilot exec` and `pilot run`:
// prepared (sized) before the start, then, on each of the supervisor's polls, its checkpoint
// mirrored into job.json and the payload stopped gracefully when the slot's end leaves only its
// grace or when its CPU limit is near; when it ends, its result collected and kept in job.json.

#include <functional>
#include <optional>

#include "core/log.hpp"
#include "jobwrapper/supervisor.hpp"
#include "mc/cpu_limit.hpp"
#include "mc/interruptible.hpp"

namespace pilot::mc {

class McRun {
 public:
  // The slot's end as the caller knows it at the moment of asking; nullopt: none known.
  using StopBySource = std::function<std::optional<StopBy>()>;

  // Sizes the job and prepares `spec` (prepare_mc: throws "No time left to produce events"
  // before anything starts). The grace and the poll period of the checks are the spec's.
  McRun(jobwrapper::JobSpec& spec, const McOptions& options, log::Logger logger);
  // A job a lost pilot prepared and started, adopted: as that pilot sized it (its record's MC
  // section, mc_job_from_record, which throws), checked with this spec's limits.
  McRun(const jobwrapper::JobSpec& spec, const jobwrapper::JobRecord& record, log::Logger logger);

  const McJob& job() const { return job_; }

  // Runs the checks on each poll, before the poll hook already in `hooks`. The object must
  // outlive the supervisor.
  void install(jobwrapper::Hooks& hooks, StopBySource stop_by);

  // Stops the payload when `stop_by` leaves only its grace plus `period_s` (a caller that learns
  // of a new slot end between polls). Returns whether it asked the payload to stop.
  bool stop_before(jobwrapper::Supervisor& supervisor, const StopBy& stop_by, double grace_s,
                   double period_s) const;

  // The MC section of job.json before the start (record_mc); the caller saves the record.
  void record_start(jobwrapper::JobRecord& record) const { record_mc(record, job_); }

  // Once the payload ended: the last checkpoint mirrored, the result collected, kept in job.json
  // (saved) and returned.
  McResult finish(jobwrapper::Supervisor& supervisor);

 private:
  void on_poll(jobwrapper::Supervisor& supervisor, const jobwrapper::TreeUsage& usage);

  McJob job_;
  CpuRate cpu_rate_;
  double cpu_limit_s_ = 0;
  double grace_s_ = 0;
  double poll_s_ = 0;
  StopBySource stop_by_;
  log::Logger log_;
};

}  // namespace pilot::mc
