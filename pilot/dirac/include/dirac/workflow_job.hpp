#pragma once
// DIRAC workflow jobs: what DIRAC's Job() API, Ganga and LHCb productions submit
// (`Executable = "dirac-jobexec"`, `Arguments = "jobDescription.xml -o LogLevel=INFO"`). Which
// jobs need the DIRAC runtime, the command line and environment JobWrapper gives them, the DIRAC
// configuration their workflow reads, and the check that nothing the workflow needs is missing:
// a workflow without its job id, proxy, CA directory or service URLs still exits 0 and simply
// reports nothing, so the pilot says what is missing before it starts one.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dirac/cfg.hpp"
#include "dirac/runtime.hpp"

namespace pilot::dirac {

// Which jobs need the runtime: jobs::needs_dirac_runtime (jobs/job_description.hpp).

// Where the payload runs, as DIRAC's /LocalSite describes it.
struct LocalSite {
  std::string site;
  std::string grid_ce;
  std::string ce_queue;
  std::string architecture;             // the DIRAC platform
  double cpu_normalization_factor = 0;  // HS06 per processor
  std::vector<std::string> local_se;
  bool remote_execution = false;
};

// One DIRAC service the pilot knows: System/Service and its URLs.
struct ServiceLocation {
  std::string system;   // "WorkloadManagement"
  std::string service;  // "JobStateUpdate"
  std::vector<std::string> urls;
};

struct PayloadCfgInputs {
  std::string setup;  // empty: DIRAC v9 style, no Setups (NoSetup = True)
  std::string vo;
  LocalSite local_site;
  std::vector<ServiceLocation> services;
  std::vector<std::string> configuration_servers;  // /DIRAC/Configuration/Servers, if any
  std::filesystem::path ca_location;               // /DIRAC/Security/CALocation
  CfgSection site_cfg{};                           // merged last: what the site adds
};

// The configuration a workflow job's DIRAC reads (through DIRACSYSCONFIG): /DIRAC (Setup, VO,
// Setups, Security, Configuration/Servers), the services' URLs under /Systems, /LocalSite.
// Throws pilot::Error naming the option for a value the cfg format cannot carry.
CfgSection payload_cfg(const PayloadCfgInputs& in);

// The payload's command, as JobWrapper runs it: `/bin/sh -c "exec <exe> <Arguments> [options]"`
// (exec'd, so that the job's main process is the command and its signal death shows as one),
// the executable resolved in the runtime (dirac-jobexec and $DIRACROOT/scripts/dirac-jobexec to
// the runtime's dirac-jobexec, another name on the runtime's PATH), Arguments kept as the shell
// words they are, and for dirac-jobexec JobWrapper's `-o /LocalSite/...` options.
std::vector<std::string> workflow_argv(std::string_view executable, std::string_view arguments,
                                       const LocalSite& site, const DiracRuntime& runtime);

// Variables the workflow reads, set in the payload's environment on top of what the job wrapper
// sets for every job: the runtime's environment, DIRACROOT, DIRACSYSCONFIG, X509_CERT_DIR and
// (when given) X509_USER_PROXY.
struct WorkflowEnvironment {
  std::map<std::string, std::string> set;
  // python-requests prefers these to DIRAC's CA directory: every HTTPS report would fail.
  std::vector<std::string> unset{"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"};
};
WorkflowEnvironment workflow_environment(const DiracRuntime& runtime,
                                         const std::filesystem::path& cfg_file,
                                         const std::filesystem::path& cert_dir,
                                         const std::filesystem::path& payload_proxy);

// What a workflow would silently miss in `env` (the payload's whole environment, "KEY=VALUE"):
// one line each, naming the variable and what is wrong. Empty: it can start.
std::vector<std::string> missing_for_workflow(const std::vector<std::string>& env);

// What dirac-jobexec's end says about its workflow when it did not succeed (the exit code of
// the last failing step, 232 for a step that could not start, 1 for a configuration error or an
// interrupt, or a signal that killed dirac-jobexec itself), for the job's ApplicationError; empty
// for exit 0.
std::string jobexec_failure(std::optional<int> exit_code, std::optional<int> signal);

// A word for `sh -c`: unchanged when it holds only characters the shell leaves alone, else in
// single quotes.
std::string shell_word(std::string_view word);

}  // namespace pilot::dirac
