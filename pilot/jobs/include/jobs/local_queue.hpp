#pragma once
// The local queue: a directory of JDL jobs that pilots on one or many nodes share, the job source
// used when no DIRAC server is configured.
//
//   QUEUE/pending/<id>/   submitted, waiting for a pilot      job.jdl, status.json
//   QUEUE/running/<id>/   claimed by one pilot                 + owner in status.json
//   QUEUE/done/<id>/      finished, whatever the outcome       + job.json, logs/*.zst, output/
//   QUEUE/tmp/            submissions being assembled (renamed into pending/ when complete)
//
// A job moves between states by renaming its directory, which is atomic on a local file system
// and on NFS: of several pilots renaming the same pending/<id> only one succeeds, so a job is
// claimed exactly once. Ids are "<UTC yyyymmdd-HHMMSS-microseconds>-<4 random hex>", e.g.
// 20261125-110203-123456-9f3a: unique without a lock, and sorting them sorts by submission time.
//
// status.json (written with write_file_atomic; timestamps UTC ISO 8601 with microseconds):
//   id, submitted, job_name, executable, status, minor_status, application_status,
//   history: [{time, status, minor_status, application_status, source}],
//   parameters: {name: value}, owner: {host, pid, start_ticks, boot_id, workdir, claimed} | null,
//   processors, heartbeat: {count, last, data}, events (from the wrapper record) | null,
//   reschedules, finished | null, logs: [{name, file, bytes, stored_bytes, truncated}],
//   outputs: [{name, file, bytes}], problems: [text]
// job.json in done/<id>/ is the job wrapper's final record as given to finish_job.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "jobs/job_description.hpp"
#include "jobs/job_source.hpp"
#include "jobs/match.hpp"

namespace pilot::jobs {

// Why the work directory of a lost pilot (`pilot_workdir`) still holds job `id` (its payload runs,
// its result is not reported), nullopt when it holds nothing of it: the agent knows its job
// directories, the queue only where they are.
using HeldByJobDir = std::function<std::optional<std::string>(
    const std::filesystem::path& pilot_workdir, const std::string& id)>;

struct LocalQueueOptions {
  std::filesystem::path root;  // the queue directory; must exist
  PlatformCheck platform_ok;   // see match.hpp; empty: exact platform equality
  log::Logger logger;
  std::filesystem::path proc_root = "/proc";  // where this process's start time is read
  std::size_t max_log_bytes = 64 << 20;       // per log file; longer logs keep their tail
  std::size_t max_output_bytes = 10 << 20;    // output sandbox per job (DIRAC's default limit)
  int max_reschedules = 3;  // a job its payload hands back (exit 222) fails after that many
  // The claiming pilot's work directory, recorded with each claim so that a pilot started on
  // another one finds what a lost pilot's job left (recover_orphans).
  std::filesystem::path pilot_workdir;
  HeldByJobDir held_by_job_dir;  // see RecoverOptions
};

class LocalQueue final : public JobSource {
 public:
  // Creates pending/, running/, done/ and tmp/ if missing; throws pilot::Error if the root does
  // not exist or is not writable.
  explicit LocalQueue(LocalQueueOptions options);

  std::string describe() const override;
  // Claims the first matching job in (Priority descending, submission) order. Jobs that do not
  // match stay pending for other pilots; a pending job whose JDL is invalid is moved to done/ as
  // Failed instead of blocking the queue.
  std::optional<MatchedJob> request_job(const ResourceRequest& request) override;
  // Local jobs need no download and run with the pilot's identity: nothing to prepare yet.
  PreparedJob prepare_job(const MatchedJob& job, const JobDescription& description,
                          const std::filesystem::path& jobdir) override;
  void maintain_job(const std::string&) override {}
  void set_status(const std::string& job_id, const StatusUpdate& update) override;
  // One read and one write of status.json for all of them.
  void report(const std::string& job_id, const std::vector<JobReport>& reports) override;
  void set_parameters(const std::string& job_id,
                      const std::vector<std::pair<std::string, std::string>>& parameters) override;
  // Returns {"Kill"} once `pilot queue kill` asked for the job to be stopped.
  std::vector<Command> heartbeat(const std::string& job_id,
                                 const nlohmann::json& dynamic_data) override;
  // Stores the record (job.json), event count, compressed logs (StdOutput, StdError,
  // XMLSummaryFile, *.log of the work directory) and the OutputSandbox files, then moves the job
  // to done/ with its final status. Files that cannot be collected are listed in `problems`, never
  // fatal. A final status "Rescheduled" puts the job back in pending/ (Waiting) instead, until it
  // has been rescheduled max_reschedules times; then it is filed Failed.
  void finish_job(const std::string& job_id, const FinishedJob& job) override;
  bool flush() override { return true; }  // every report is written when it is made
  // Requeues (see recover_jobs) the running jobs whose recorded owner is a dead process of this
  // host, and those still without an owner a few seconds after a first look (a pilot killed
  // between the claim's rename and its status write; a live claim writes it at once).
  std::vector<OrphanJob> recover_orphans() override;
  // Records this pilot as the owner of the running job, when its owner is a dead process of this
  // host (the job directory stays where it is: its pilot work directory is recorded as the
  // owner's); false when the job is no longer running or another live pilot owns it.
  bool adopt_job(const std::string& job_id, const std::filesystem::path& jobdir) override;
  bool holds_no_jobs() const override;
  bool has_pending_jobs() const override;
  bool requeues_unstarted_jobs() const override { return true; }

 private:
  struct Candidate {
    std::optional<JobDescription> description;
    std::string error;  // why the JDL is invalid
    std::string jdl;
  };
  void reject_invalid(const std::string& id, const std::string& error);
  // The claim of a job just moved to running/<id>: its owner (this pilot, its work directory),
  // processors and Matched status.
  void write_claim(const std::filesystem::path& dir, int processors) const;
  std::filesystem::path running_dir(const std::string& job_id) const;
  void file_results(const std::filesystem::path& dir, const std::string& job_id,
                    const FinishedJob& job, bool rescheduled, nlohmann::json& status) const;

  LocalQueueOptions options_;
  std::mutex mutex_;                        // one pilot runs several jobs from threads
  std::map<std::string, Candidate> cache_;  // pending JDLs never change, so parse each once
};

// --- operator functions (`pilot queue ...`) ---

// Validates the JDL (syntax and attribute types), stores it and returns the new job id. Creates
// the queue directory if needed. The JDL's InputSandbox files (or directories) are read relative
// to `input_base` (empty: the current directory) and stored with the job under input/<base
// name>, as DIRAC packs them; SB: and LFN: entries and missing files throw pilot::Error.
std::string submit_job(const std::filesystem::path& root, std::string_view jdl_text,
                       std::string_view source, const std::filesystem::path& input_base = {});

struct QueueEntry {
  std::string id;
  std::string state;      // "pending", "running" or "done"
  nlohmann::json status;  // status.json (an object with "problems" if it could not be read)
};
// Every job, ordered by id (submission time).
std::vector<QueueEntry> list_jobs(const std::filesystem::path& root);

// status.json plus "state" and "jdl", or nullopt when there is no such job. Throws for an id that
// is not a queue id (so it cannot name a path outside the queue).
std::optional<nlohmann::json> show_job(const std::filesystem::path& root, const std::string& id);

// Writes the decompressed log `name` of a finished job to `out`; false when there is no such log.
bool write_job_log(const std::filesystem::path& root, const std::string& id,
                   const std::string& name, std::ostream& out);

// Asks for a job to be stopped: a pending job goes straight to done/ as Killed; a running one is
// marked, and its pilot gets a Kill command at its next heartbeat. Returns the state it was in.
std::string kill_job(const std::filesystem::path& root, const std::string& id);

struct RecoverOptions {
  // Also act on jobs of pilots on other hosts (whose liveness cannot be checked from here) when
  // their last report is older than this. Jobs of pilots on this host are checked directly.
  std::optional<std::chrono::seconds> older_than;
  bool dry_run = false;
  int max_reschedules = 3;  // DIRAC's MaxRescheduling: then the job fails instead
  // When set, a job with no owner recorded is acted on only if listed here: one without an owner
  // may be a claim under way (rename done, owner not yet written).
  std::optional<std::set<std::string>> ownerless;
  std::filesystem::path proc_root = "/proc";
  // A job of a lost pilot of this host that left something in its work directory (its payload
  // still running, or a result not reported yet) is "held" there instead of requeued: running it
  // again would run it twice or lose what it made. Unset: work directories are not looked at.
  HeldByJobDir held_by_job_dir;
};

struct RecoverAction {
  std::string id;
  std::string owner;  // "host:pid"
  // "alive", "unknown", "held", "requeued", "failed" (or "would be ..." when dry)
  std::string verdict;
  std::string reason;
  std::filesystem::path pilot_workdir;  // held: the lost pilot's work directory
};
std::vector<RecoverAction> recover_jobs(const std::filesystem::path& root,
                                        const RecoverOptions& options);

}  // namespace pilot::jobs
