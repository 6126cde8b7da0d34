#pragma once
// The one interface the agent uses to get work and report on it, whatever the work comes from:
// a DIRAC server (pilot/dirac) or a local queue directory (pilot/jobs). Implementations throw
// pilot::Error on failures the caller should know about (server unreachable after failover,
// queue directory unwritable); a status change they accepted is never lost (they buffer and
// retry on their own).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "jobs/job_description.hpp"

namespace pilot::jobs {

// What this pilot offers in one job request: the neutral form of DIRAC's resource description.
struct ResourceRequest {
  std::string site;                        // Site, e.g. "LCG.CERN.cern"
  std::string grid_ce;                     // GridCE
  std::string ce_queue;                    // CEQueue
  std::string platform;                    // dirac_platform of the node, e.g. "haswell-el9"
  std::int64_t cpu_work_left_hs06s = 0;    // CPUTime the Matcher compares with the job's CPUTime
  int processors = 1;                      // free processors offered now (NumberOfProcessors)
  std::int64_t max_ram_mb = 0;             // MaxRAM; 0 = unknown
  bool whole_node = false;                 // offer the whole (idle) node
  std::vector<std::string> tags;           // Tag
  std::vector<std::string> required_tags;  // RequiredTag
  std::string pilot_reference;             // PilotReference
  double pilot_benchmark = 0;              // PilotBenchmark (HS06 per processor)
  // The pilot can run jobs that need DIRAC (jobs::needs_dirac_runtime). Not sent to DIRAC's
  // Matcher, which has no such field; the local queue leaves such jobs for another pilot.
  bool dirac_runtime = false;
  // Anything else the backend should forward verbatim (e.g. ReleaseVersion, VirtualOrganization).
  nlohmann::json extra = nlohmann::json::object();
};

struct MatchedJob {
  std::string id;   // DIRAC JobID in decimal, or the local queue's job id
  std::string jdl;  // the job description as received
  nlohmann::json attributes =
      nlohmann::json::object();  // backend extras (e.g. DIRAC's JobID, owner, group)
  double match_seconds = 0;      // how long the request that matched it took (MatcherServiceTime)
};

struct StatusUpdate {
  std::string status;              // e.g. "Running"; empty: unchanged
  std::string minor_status;        // e.g. "Application"; empty: unchanged
  std::string application_status;  // empty: unchanged
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::string source = "JobWrapper";
};

// One of a job's reports as the agent makes them: a status, or parameters.
struct JobReport {
  std::optional<StatusUpdate> status;                           // set: a status report
  std::vector<std::pair<std::string, std::string>> parameters;  // else: parameters
};

// A command the server sent with a heartbeat reply, e.g. {"Kill", ...}.
struct Command {
  std::string name;
  nlohmann::json arguments;
};

// What a source prepared for a job before its payload starts.
struct PreparedJob {
  // Set in the payload's environment only, never in the pilot's (e.g. X509_USER_PROXY pointing
  // at the owner's proxy).
  std::vector<std::pair<std::string, std::string>> environment;
};

// The job cannot start: `minor_status` is what it fails with ("Input Sandbox Download Failed",
// "Proxy Not Available", ...), what() the detail naming the input.
struct JobPreparationError : Error {
  JobPreparationError(std::string minor, const std::string& detail)
      : Error(detail), minor_status(std::move(minor)) {}
  std::string minor_status;
};

// The source refuses this pilot for good (DIRAC: the Matcher wants another pilot version): no
// request will ever match, so the pilot stops asking.
struct SourceRefusesPilot : Error {
  using Error::Error;
};

struct FinishedJob {
  std::filesystem::path workdir;  // the job directory (logs, job.json, outputs)
  nlohmann::json record;          // the job wrapper's final record
  // The job's description when it was read (absent for a job whose JDL was invalid, or a job
  // recovered without one): its OutputSandbox names the files to deliver.
  std::optional<JobDescription> description{};
  // The job's last status (Done / Failed ...), reported by the source once the outputs are
  // delivered, so the server never shows a job done whose outputs are missing.
  std::optional<StatusUpdate> final_status{};
};

// A lost pilot's job left in that pilot's work directory.
struct OrphanJob {
  std::string id;
  std::filesystem::path pilot_workdir;
};

class JobSource {
 public:
  virtual ~JobSource() = default;
  virtual std::string describe() const = 0;  // e.g. "DIRAC https://host:9135" or "queue /srv/q"

  // A job this node may run, or nullopt when none matches now. Throws SourceRefusesPilot when
  // no request of this pilot can ever match; any other exception is a failure of this request.
  virtual std::optional<MatchedJob> request_job(const ResourceRequest& request) = 0;

  // Before the payload starts: puts the job's inputs into `jobdir` (it exists) and gets the
  // credential the payload runs with, reporting its own statuses on the way ("Downloading
  // InputSandbox"). Throws JobPreparationError when the job cannot start.
  virtual PreparedJob prepare_job(const MatchedJob& job, const JobDescription& description,
                                  const std::filesystem::path& jobdir) = 0;
  // While the payload runs, before each heartbeat: keeps what the payload was given valid
  // (renews the owner's proxy). Throws pilot::Error when it cannot; the agent logs it.
  virtual void maintain_job(const std::string& job_id) = 0;

  virtual void set_status(const std::string& job_id, const StatusUpdate& update) = 0;
  virtual void set_parameters(
      const std::string& job_id,
      const std::vector<std::pair<std::string, std::string>>& parameters) = 0;
  // Reports of one job made one after another, in order. By default one set_status or
  // set_parameters each, every one tried (a failure throws pilot::Error naming the failures once
  // all were tried); a source that can deliver them in one write overrides it (the local queue).
  virtual void report(const std::string& job_id, const std::vector<JobReport>& reports);
  // `dynamic_data` holds DIRAC's heartbeat keys (CPUConsumed, WallClockTime, MemoryUsed, ...).
  virtual std::vector<Command> heartbeat(const std::string& job_id,
                                         const nlohmann::json& dynamic_data) = 0;
  // The job is over (whatever its outcome): deliver its outputs, then its final status, then
  // outstanding reports. Outputs that cannot be delivered now are kept for a later pilot.
  virtual void finish_job(const std::string& job_id, const FinishedJob& job) = 0;
  // Deliver everything still buffered; returns false if something could not be sent yet.
  virtual bool flush() = 0;
  // The pilot is leaving (a stop signal): from any thread, makes calls in flight and later ones
  // give up at once instead of waiting for a server that does not answer. What they carried
  // stays buffered on disk for the next pilot; a preparation in flight throws.
  virtual void stop_waiting() {}
  // Reports the source refused for good (kept for the operator, logged as errors).
  virtual std::size_t refused_reports() const { return 0; }
  // At start-up, after the jobs found in the work directory are reported or adopted: jobs an
  // earlier pilot of this node claimed but left no trace of (killed during the claim) go back to
  // the source, and what it kept for jobs no longer run here is removed.
  // Returned: the jobs of lost pilots that another work directory still holds (their payload
  // runs, their result is unreported), for the caller to recover from there instead.
  virtual std::vector<OrphanJob> recover_orphans() { return {}; }
  // A lost pilot's job whose payload still runs (in `jobdir`), which this pilot takes over: from
  // now on it is this pilot's, heartbeats, reports and finish_job included. False when the source
  // cannot hand it over (the job is then stopped and filed as a lost pilot's); throws pilot::Error
  // when it could not record the change.
  virtual bool adopt_job(const std::string& job_id, const std::filesystem::path& jobdir) {
    (void)job_id;
    (void)jobdir;
    return false;
  }
  // Whether the source holds no job at all, pending or running (a local queue whose every job
  // is done): no later request can match, so a pilot need not wait for one. A server that others
  // submit to never says so.
  virtual bool holds_no_jobs() const { return false; }
  // Whether a job is waiting to be claimed (one this pilot's request did not match included).
  virtual bool has_pending_jobs() const { return true; }
  // Whether recover_orphans() gives back a job whose pilot was lost before its payload started
  // (then it runs again; otherwise it is reported failed).
  virtual bool requeues_unstarted_jobs() const { return false; }
};

}  // namespace pilot::jobs
