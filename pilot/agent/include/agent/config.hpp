#pragma once
// The agent's configuration: a JSON file (`pilot run --config FILE`), then command-line
// overrides (`--set key=value`, dotted keys), then the environment for the credentials and
// batch variables. Unknown or mistyped options are errors that name the option: a typo in a
// site's configuration must stop the pilot at start-up, not silently change its behaviour.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/request_pacing.hpp"
#include "monitor/stomp_client.hpp"

namespace pilot::agent {

struct ServiceUrls {
  std::vector<std::string> matcher;           // dips://host:9170/WorkloadManagement/Matcher
  std::vector<std::string> job_state_update;  // dips:// or https:// (Tornado)
  std::vector<std::string> pilot_logging;     // https://.../WorkloadManagement/TornadoPilotLogging
  std::vector<std::string> sandbox_store;     // dips://host:9196/WorkloadManagement/SandboxStore
  // dips://host:9152/Framework/ProxyManager; empty: beside the first Matcher (port 9152)
  std::vector<std::string> proxy_manager;
  // dips://host:9132/WorkloadManagement/JobManager (rescheduling); empty: beside the first Matcher
  std::vector<std::string> job_manager;
};

// The DIRAC installation workflow jobs need (dirac/runtime.hpp, dirac/workflow_job.hpp).
struct DiracRuntimeConfig {
  // Environment scripts, each with its arguments as shell words, tried in order:
  // "/cvmfs/lhcb.cern.ch/lib/lhcb/LHCBDIRAC/lhcbdirac v11.0.2". Empty: none; jobs that need DIRAC
  // are left to other pilots (local queue) or handed back (DIRAC).
  std::vector<std::string> sources;
  bool required = false;   // true: the start-up fails when no source gives a runtime
  double timeout_s = 120;  // for sourcing each
  std::vector<std::string> configuration_servers;  // the payload's /DIRAC/Configuration/Servers
  std::filesystem::path site_cfg;  // a DIRAC cfg merged into every workflow job's configuration
};

struct Config {
  // Where jobs come from: a DIRAC server (service URLs set) or a local queue directory.
  std::string site = "Local.Site.local";
  std::string ce;     // GridCE
  std::string queue;  // CEQueue
  std::string vo = "lhcb";
  std::string setup;  // DIRAC setup, e.g. "LHCb-Production"
  std::string release_version;
  std::string release_project = "LHCb";
  ServiceUrls services;
  std::filesystem::path queue_dir;  // local queue (the embedded default when no services are set)

  std::vector<std::string> tags;
  std::vector<std::string> required_tags;
  std::filesystem::path workdir = ".";

  // Resources this pilot owns; 0 / unset: from MJF, the batch system, then the node.
  int processors = 0;
  std::int64_t memory_mb = 0;
  double cpu_power_hs06 = 0;
  double wall_limit_s = 0;

  // Loop and stop rules (pilot-behaviour.md section 2).
  int max_jobs = 0;  // 0: unlimited
  int stop_after_failed_matches = 10;
  int max_host_failures = 3;
  // When requests are sent (agent/request_pacing.hpp): keys pacing.*, and polling_s for
  // DIRAC's PollingTime (pacing.kind "dirac").
  PacingLimits pacing;
  double min_cpu_work_left_hs06s = 5000;  // DIRAC MinimumTimeLeft
  double pilot_lifetime_s = 0;            // 0: until the slot ends
  bool fill = true;                       // keep taking jobs after the first
  std::filesystem::path drain_file =
      "/var/lib/dirac_drain";  // mjf::drain_file_path("/"), watched by MJF too
  double min_free_disk_mb = 2560;
  bool require_cvmfs = false;
  std::vector<std::string> cvmfs_repositories;
  DiracRuntimeConfig dirac_runtime;

  // What the operators see (monitor/): the status file in the work directory every
  // status_period_s, and a Prometheus text file for node_exporter when metrics_textfile is set.
  double status_period_s = 5;
  std::filesystem::path metrics_textfile;
  // Monitoring records over STOMP (keys stomp.*; no stomp.host: none): a record per job status
  // change, and the pilot's record every stomp.pilot_period_s.
  monitor::StompSettings stomp;
  double stomp_pilot_period_s = 300;

  // Job supervision.
  double heartbeat_s = 1800;
  std::string stop_signal = "SIGINT";
  double grace_s = 0;  // 0: MJF grace_secs_job / grace_secs, then the batch KillWait, then 30 s
  std::optional<std::int64_t> job_memory_limit_bytes;

  // Credentials (environment: X509_USER_PROXY, X509_CERT_DIR, BEARER_TOKEN...).
  std::filesystem::path proxy;
  std::filesystem::path cert_dir;
  std::filesystem::path host_cert;
  std::filesystem::path host_key;
  double min_proxy_lifetime_s = 3600;
  // The payload's proxy from the ProxyManager (DIRAC jobs with an owner).
  bool payload_proxy_required = true;              // no proxy: the job fails before it starts
  double payload_proxy_lifetime_s = 5 * 86400;     // requiredLifetime asked for
  double payload_proxy_check_s = 3600;             // how often its lifetime is looked at
  double payload_proxy_renew_before_s = 3 * 3600;  // renewed when less than this is left
  std::vector<std::string> payload_proxy_voms;     // "group=VOMS attribute": getVOMSProxy for these

  std::string pilot_uuid;  // PILOT_UUID for clouds; else derived from the batch environment

  // DIRAC calls: a server that hangs costs at most these per step (connect; handshake, each send,
  // each receive). Reports still undelivered when the pilot ends are retried for
  // report_retry_s (with back-off) before they are left on disk for the next pilot.
  double rpc_connect_timeout_s = 10;
  double rpc_timeout_s = 60;
  double report_retry_s = 300;

  bool uses_dirac() const { return !services.matcher.empty(); }
};

// The defaults above, as JSON: what `pilot run --print-config` shows and what keys exist.
nlohmann::json config_to_json(const Config& config);

// Builds a Config from `base` with the JSON object applied on top. Throws pilot::Error naming
// the key for unknown keys ("unknown configuration option 'sitee' (did you mean 'site'?)") and
// for values of the wrong type ("configuration option 'processors' must be an integer, got
// \"eight\""). `origin` (a file name, "--set") prefixes the messages.
Config apply_config(const Config& base, const nlohmann::json& object, std::string_view origin);

// One `--set key=value` override; dotted keys address nested objects (services.matcher).
// The value is parsed as JSON when it is valid JSON, else taken as a string.
Config apply_override(const Config& base, std::string_view assignment);

// The configuration file, then the overrides, then the environment (X509_USER_PROXY,
// X509_CERT_DIR, PILOT_UUID, JOBFEATURES...): read with `getenv` passed in, so tests can feed it.
Config load_config(const std::optional<std::filesystem::path>& file,
                   const std::vector<std::string>& overrides,
                   const std::function<std::optional<std::string>(const std::string&)>& getenv);

}  // namespace pilot::agent
