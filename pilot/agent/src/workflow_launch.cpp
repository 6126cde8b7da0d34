#include "workflow_launch.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "dirac/workflow_job.hpp"
#include "jobwrapper/environment.hpp"

namespace pilot::agent {

namespace {

namespace jw = jobwrapper;

constexpr const char* kWrapperInitialization = "Job Wrapper Initialization";

// The services the pilot itself uses, where the workflow reports and fetches too.
std::vector<dirac::ServiceLocation> pilot_services(const ServiceUrls& u) {
  return {{"WorkloadManagement", "JobStateUpdate", u.job_state_update},
          {"WorkloadManagement", "SandboxStore", u.sandbox_store},
          {"WorkloadManagement", "JobManager", u.job_manager},
          {"WorkloadManagement", "Matcher", u.matcher},
          {"WorkloadManagement", "PilotLogging", u.pilot_logging},
          {"Framework", "ProxyManager", u.proxy_manager}};
}

dirac::LocalSite local_site(const AgentSetup& s, const BudgetView& budget) {
  dirac::LocalSite site;
  site.site = s.config.site;
  site.grid_ce = s.base_request.grid_ce;
  site.ce_queue = s.config.queue;
  site.architecture = s.base_request.platform;
  site.cpu_normalization_factor = budget.cpu_power_hs06.value_or(0);
  return site;
}

dirac::CfgSection site_cfg(const Config& c) {
  if (c.dirac_runtime.site_cfg.empty()) return dirac::CfgSection();
  auto text = read_file(c.dirac_runtime.site_cfg);
  if (!text)
    throw Error("dirac_runtime.site_cfg " + c.dirac_runtime.site_cfg.string() + " cannot be read");
  return dirac::parse_cfg(*text, c.dirac_runtime.site_cfg.string());
}

void write_workflow_cfg(const jw::JobSpec& spec, const AgentSetup& s, const BudgetView& budget) {
  dirac::PayloadCfgInputs in;
  in.setup = s.config.setup;
  in.vo = s.config.vo;
  in.local_site = local_site(s, budget);
  in.services = pilot_services(s.config.services);
  in.configuration_servers = s.config.dirac_runtime.configuration_servers;
  in.ca_location = s.config.cert_dir;
  in.site_cfg = site_cfg(s.config);
  std::filesystem::create_directories(spec.workdir);
  write_file_atomic(spec.workdir / kWorkflowCfgName, dirac::to_cfg_text(dirac::payload_cfg(in)));
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

}  // namespace

void prepare_workflow(jw::JobSpec& spec, const jobs::JobDescription& job, const AgentSetup& s,
                      const BudgetView& budget) {
  if (!s.dirac_runtime)
    throw jobs::JobPreparationError("Application not found",
                                    "'" + job.executable + "' needs a DIRAC runtime");
  const auto& rt = *s.dirac_runtime;
  try {
    write_workflow_cfg(spec, s, budget);
  } catch (const Error& e) {
    throw jobs::JobPreparationError(kWrapperInitialization, e.what());
  }
  auto proxy = spec.env.set.count("X509_USER_PROXY") ? spec.env.set["X509_USER_PROXY"] : "";
  auto w =
      dirac::workflow_environment(rt, spec.workdir / kWorkflowCfgName, s.config.cert_dir, proxy);
  for (auto& [name, value] : w.set) spec.env.set.insert_or_assign(name, value);
  spec.env.unset.insert(spec.env.unset.end(), w.unset.begin(), w.unset.end());
  spec.argv = dirac::workflow_argv(job.executable, job.arguments, local_site(s, budget), rt);
  auto missing = dirac::missing_for_workflow(
      jw::build_environment(jw::current_environment(), spec.env, "check"));
  if (!missing.empty())
    throw jobs::JobPreparationError(kWrapperInitialization,
                                    "the DIRAC workflow would miss: " + joined(missing));
}

}  // namespace pilot::agent
