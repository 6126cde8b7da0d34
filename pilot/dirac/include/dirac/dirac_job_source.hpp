#pragma once
// The DIRAC job source: jobs from Matcher.requestJob (DISET), reports to JobStateUpdate (HTTPS or
// DISET) through the persistent report buffer, heartbeats with the server's commands. Before each
// request it checks the credential: a proxy that expires before the offered work could end makes
// it shorten the offer (CPUTime) to what the proxy covers, or refuse when less than
// `min_proxy_lifetime` is left; it warns when less than `proxy_warning` is left. A job with an
// owner runs with the owner's proxy from the ProxyManager, never with the pilot's.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "dirac/payload_proxy.hpp"
#include "dirac/report_buffer.hpp"
#include "dirac/sandbox_store.hpp"
#include "dirac/services.hpp"
#include "jobs/job_source.hpp"

namespace pilot::dirac {

struct DiracConfig {
  std::vector<std::string> matcher_urls;  // dips://host:9170/WorkloadManagement/Matcher
  std::vector<std::string>
      job_state_urls;  // https://host:8443/WorkloadManagement/TornadoJobStateUpdate
  std::vector<std::string> pilot_logging_urls;  // optional
  RpcOptions rpc;
  std::filesystem::path state_dir;  // holds the report buffer (dirac-reports.json)
  std::string release_version;      // ReleaseVersion sent to the Matcher (empty: not sent)
  std::string release_project;      // ReleaseProject (empty: not sent)
  std::chrono::seconds min_proxy_lifetime{1800};
  std::chrono::seconds proxy_warning{6 * 3600};
  // dips://host:9196/WorkloadManagement/SandboxStore; empty: jobs with SB: inputs fail, output
  // sandboxes are not uploaded (logged).
  std::vector<std::string> sandbox_store_urls;
  SandboxPolicy sandbox;
  // Output sandboxes kept by an outage are retried at most this often (and by the next pilot).
  std::chrono::seconds pending_output_retry{300};
  // The payload's credential (see payload_proxy.hpp): ProxyManager URLs (empty: beside the first
  // Matcher, default_proxy_manager_url), the files' directory (empty: state_dir/payload-proxies).
  std::vector<std::string> proxy_manager_urls;
  PayloadProxyConfig payload_proxy;
  // JobManager URLs for rescheduling (empty: beside the first Matcher, default_job_manager_url).
  std::vector<std::string> job_manager_urls;
};

// The time a job's next status is sent with: `now` to the millisecond, and always later than the
// job's last one, since the server orders LoggingInfo by milliseconds (StatusTimeOrder) and two
// reports in the same millisecond would tie.
std::chrono::sys_time<std::chrono::milliseconds> next_status_time(
    std::optional<std::chrono::sys_time<std::chrono::milliseconds>> last,
    std::chrono::system_clock::time_point now);

class DiracJobSource : public jobs::JobSource {
 public:
  // Loads the report buffer left by an earlier pilot in `state_dir` (and tries to deliver it at
  // the next call).
  DiracJobSource(DiracConfig config, log::Logger log);

  std::string describe() const override;
  // Throws jobs::SourceRefusesPilot on a version mismatch (stop the pilot), ServiceError,
  // RpcError, or pilot::Error when the credential cannot cover any work.
  std::optional<jobs::MatchedJob> request_job(const jobs::ResourceRequest& request) override;
  jobs::PreparedJob prepare_job(const jobs::MatchedJob& job,
                                const jobs::JobDescription& description,
                                const std::filesystem::path& jobdir) override;
  void maintain_job(const std::string& job_id) override;
  // Its payload keeps its proxy file, renewed for the owner recorded beside it (or none: it runs
  // as the pilot); the server sees the same job go on, now reported by this pilot.
  bool adopt_job(const std::string& job_id, const std::filesystem::path& jobdir) override;
  // The proxy files earlier pilots left for jobs not adopted are removed.
  std::vector<jobs::OrphanJob> recover_orphans() override;
  // Sends DIRAC's JobReport would: without any ' in the fields, each job's statuses strictly
  // increasing in milliseconds.
  void set_status(const std::string& job_id, const jobs::StatusUpdate& update) override;
  void set_parameters(const std::string& job_id,
                      const std::vector<std::pair<std::string, std::string>>& parameters) override;
  std::vector<jobs::Command> heartbeat(const std::string& job_id,
                                       const nlohmann::json& dynamic_data) override;
  // A final status "Rescheduled" (the payload asked for it) is reported, then the job is handed
  // to JobManager.rescheduleJob; its output sandbox is not delivered, as in DIRAC.
  void finish_job(const std::string& job_id, const jobs::FinishedJob& job) override;
  bool flush() override;
  void stop_waiting() override;

  std::size_t pending_reports() const { return buffer_.pending(); }
  std::size_t refused_reports() const override { return buffer_.refused(); }
  // Uploads the output sandboxes kept in state_dir by an outage, then reports their jobs' final
  // statuses. Returns how many are still pending.
  std::size_t retry_pending_outputs();

 private:
  std::int64_t job_number(const std::string& job_id) const;
  // The request's CPUTime capped to what the credential's lifetime covers.
  jobs::ResourceRequest fit_to_credential(const jobs::ResourceRequest& request) const;

  // Packs and uploads the job's output sandbox; false when it is kept on disk for later.
  bool deliver_output_sandbox(const std::string& job_id, const jobs::FinishedJob& job);
  bool upload_pending(const PendingOutput& pending, const ServiceClient& store);
  // The SandboxStore as the job's owner when the job has the owner's proxy (as DIRAC's job
  // wrapper calls it, so the store's ownership checks pass), else as the pilot.
  ServiceClient sandbox_store_for(const std::string& job_id);

  DiracConfig config_;
  log::Logger log_;
  ServiceClient matcher_;
  ServiceClient job_state_;
  ServiceClient sandbox_store_;
  ServiceClient job_manager_;
  std::chrono::steady_clock::time_point next_output_retry_{};
  ReportBuffer buffer_;
  std::map<std::int64_t, std::chrono::sys_time<std::chrono::milliseconds>> last_status_time_;
  PayloadProxyKeeper proxies_;
  bool pilot_info_reported_ = false;
};

}  // namespace pilot::dirac
