#include "agent/startup.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <chrono>
#include <map>

#include "agent/job_dirs.hpp"
#include "agent/job_plan.hpp"
#include "core/error.hpp"
#include "core/filesystem_space.hpp"
#include "core/fs.hpp"
#include "core/trace.hpp"
#include "dirac/credentials.hpp"
#include "dirac/dirac_job_source.hpp"
#include "dirac/proxy_manager.hpp"
#include "dirac/runtime.hpp"
#include "jobs/local_queue.hpp"
#include "mjf/batch.hpp"
#include "platform/probe.hpp"
#include "platform/tags.hpp"

extern char** environ;
extern const char* const kEmbedded_demo_hello_jdl;
extern const char* const kEmbedded_demo_failing_jdl;
extern const char* const kEmbedded_demo_multicore_jdl;
extern const char* const kEmbedded_demo_interruptible_mc_jdl;

namespace pilot::agent {
namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> demo_jobs() {
  return {{"hello.jdl", kEmbedded_demo_hello_jdl},
          {"multicore.jdl", kEmbedded_demo_multicore_jdl},
          {"interruptible-mc.jdl", kEmbedded_demo_interruptible_mc_jdl},
          {"failing.jdl", kEmbedded_demo_failing_jdl}};
}

namespace {

// The batch system as DIRAC's pilot names it in /LocalSite/BatchSystemInfo/Type.
std::string dirac_batch_system_name(const std::string& system) {
  static const std::map<std::string, std::string> names{
      {"slurm", "SLURM"}, {"htcondor", "HTCondor"}, {"pbs", "PBS"}, {"lsf", "LSF"}, {"sge", "SGE"}};
  auto it = names.find(system);
  return it == names.end() ? system : it->second;
}

std::string random_hex(int bytes) {
  std::vector<unsigned char> b(static_cast<std::size_t>(bytes));
  if (RAND_bytes(b.data(), bytes) != 1) throw Error("no randomness for the pilot stamp");
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (auto c : b) s += hex[c >> 4], s += hex[c & 15];
  return s;
}

std::string hostname() {
  struct utsname u {};
  ::uname(&u);
  return u.nodename;
}

}  // namespace

namespace {

// A duration option, which must be above 0 seconds.
std::chrono::milliseconds positive_ms(double s, const char* key) {
  if (s <= 0)
    throw Error(std::string("configuration option '") + key + "' must be above 0 seconds");
  return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
}

}  // namespace

dirac::RpcOptions rpc_options(const Config& config) {
  dirac::RpcOptions o;
  o.credentials =
      config.host_cert.empty()
          ? dirac::Credentials{config.proxy, {}, config.cert_dir, false}
          : dirac::Credentials{config.host_cert, config.host_key, config.cert_dir, true};
  o.setup = config.setup;
  o.vo = config.vo;
  o.connect_timeout = positive_ms(config.rpc_connect_timeout_s, "rpc_connect_timeout_s");
  o.timeout = positive_ms(config.rpc_timeout_s, "rpc_timeout_s");
  return o;
}

namespace {

// What the start-up steps share: the configuration they may complete (credentials found), the
// environment, the probe and budget results later steps read, and what they build.
struct StartupState {
  Config config;
  log::Logger log;
  mjf::Environment env;
  NodeRoots roots;
  Startup& st;
  platform::PlatformInfo info{};

  std::optional<std::string> getenv(const std::string& k) const {
    auto it = env.find(k);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  }
};

void check_cvmfs(const StartupState& s) {
  for (const auto& repo : s.config.cvmfs_repositories) {
    std::error_code ec;
    fs::path p = s.roots.files / "cvmfs" / repo;
    if (!fs::is_directory(p, ec) || fs::directory_iterator(p, ec) == fs::directory_iterator()) {
      if (s.config.require_cvmfs)
        throw Error("CVMFS repository " + repo + " is not available under " +
                    (s.roots.files / "cvmfs").string());
      s.log.warn("CVMFS repository not available", {{"repository", repo}});
    }
  }
}

void check_node(StartupState& s) {
  fs::path wd = fs::absolute(s.config.workdir);
  fs::create_directories(wd);
  struct utsname u {};
  ::uname(&u);
  s.log.info("node", {{"host", std::string(u.nodename)},
                      {"kernel", std::string(u.release)},
                      {"machine", std::string(u.machine)},
                      {"workdir", wd.string()}});
  auto space = filesystem_space(wd);
  if (!space) throw_errno("cannot read the free space of " + wd.string(), errno);
  double free_mb = static_cast<double>(space->free_bytes) / 1048576.0;
  if (free_mb < s.config.min_free_disk_mb)
    throw Error(std::to_string(static_cast<long>(free_mb)) + " MB free in " + wd.string() +
                ", at least " + std::to_string(static_cast<long>(s.config.min_free_disk_mb)) +
                " MB are needed");
  check_cvmfs(s);
  s.st.setup.workdir = wd;
}

// The configured files win over the X509_* variables.
std::optional<std::string> credential_variable(const StartupState& s, const std::string& k) {
  const Config& c = s.config;
  if (k == "X509_USER_PROXY" && !c.proxy.empty()) return c.proxy.string();
  if (k == "X509_CERT_DIR" && !c.cert_dir.empty()) return c.cert_dir.string();
  if (k == "X509_USER_CERT" && !c.host_cert.empty()) return c.host_cert.string();
  if (k == "X509_USER_KEY" && !c.host_key.empty()) return c.host_key.string();
  return s.getenv(k);
}

// DIRAC's InstallDIRAC / LHCbInstallDIRAC: the pilot installs nothing, it sources what the site
// has (CVMFS) once and keeps the environment for the jobs that need it.
void find_dirac_runtime(StartupState& s) {
  const auto& rc = s.config.dirac_runtime;
  if (rc.sources.empty()) {
    s.log.info("no DIRAC runtime configured: jobs that need DIRAC are left to other pilots");
    return;
  }
  dirac::RuntimeOptions o;
  for (const auto& line : rc.sources) {
    auto words = split_arguments(line);
    if (words.empty()) throw Error("dirac_runtime.sources: an empty entry");
    o.sources.push_back({words.front(), {words.begin() + 1, words.end()}});
  }
  o.timeout = positive_ms(rc.timeout_s, "dirac_runtime.timeout_s");
  try {
    auto rt = dirac::find_runtime(o);
    s.log.info("DIRAC runtime", {{"source", rt.source.describe()},
                                 {"dirac_jobexec", rt.jobexec.string()},
                                 {"diracroot", rt.diracroot.string()}});
    s.st.setup.dirac_runtime = std::move(rt);
  } catch (const dirac::RuntimeNotFound& e) {
    if (rc.required) throw;
    s.log.warn("no DIRAC runtime: jobs that need DIRAC are left to other pilots",
               {{"error", e.what()}});
  }
}

void check_credentials(StartupState& s) {
  auto creds = dirac::find_credentials(
      [&](const std::string& k) { return credential_variable(s, k); }, ::getuid());
  auto info = dirac::read_certificate_info(creds.cert);
  auto check =
      dirac::check_lifetime(info, std::chrono::system_clock::now(),
                            std::chrono::seconds(static_cast<long>(s.config.min_proxy_lifetime_s)),
                            std::chrono::hours(6));
  if (!check.usable) throw Error(creds.cert.string() + ": " + check.message);
  if (check.warn)
    s.log.warn("credential expires soon",
               {{"file", creds.cert.string()}, {"detail", check.message}});
  s.log.info("credential", {{"subject", info.subject},
                            {"group", info.group.value_or("")},
                            {"seconds_left", static_cast<std::int64_t>(check.left.count())}});
  s.config.proxy = creds.cert;
  s.config.cert_dir = creds.ca_dir;
}

void probe_platform(StartupState& s) {
  platform::ProbeOptions po;
  po.root = s.roots.files;
  po.workdir = s.st.setup.workdir;
  po.containers = false;  // the container check runs images; the agent does not need it to start
  if (auto cc = s.getenv("CC")) po.cc = *cc;
  if (auto f = s.getenv("force_host_os")) po.force_host_os = *f;
  if (auto p = mjf::processors_from_environment(s.env)) po.batch_cpus = static_cast<int>(p->count);
  s.info = platform::probe(po);
  s.log.info("platform", {{"dirac_platform", s.info.dirac_platform},
                          {"host_binary_tag", s.info.ids.host_binary_tag()},
                          {"usable_cpus", s.info.cpus.usable.value_or(s.info.cpus.logical)}});
  s.st.setup.platform_ok = [platform = s.info.dirac_platform](const std::string& required) {
    try {
      return platform::can_run(platform, required);
    } catch (const std::exception&) {
      return false;
    }
  };
}

// The configured last resorts for what neither MJF nor the batch system says.
mjf::Config budget_fallbacks(const Config& config) {
  mjf::Config mc;
  if (config.cpu_power_hs06 > 0) mc.cpu_power_hs06 = config.cpu_power_hs06;
  if (config.processors > 0) mc.processors = config.processors;
  if (config.wall_limit_s > 0) mc.wall_limit_secs = static_cast<std::int64_t>(config.wall_limit_s);
  if (config.memory_mb > 0) mc.memory_limit_bytes = config.memory_mb * 1048576;
  mc.started_at = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return mc;
}

void read_budget(StartupState& s) {
  mjf::ObserveSettings os;
  os.env = s.env;
  os.root = s.roots.files;
  os.sources = mjf::sources_from_environment(s.env, s.log);
  os.drain_file = s.config.drain_file;  // moved by the operator: the default place is not watched
  s.st.watcher = std::make_unique<mjf::Watcher>(os, budget_fallbacks(s.config), s.log.child("mjf"));
  s.st.setup.watcher = s.st.watcher.get();
  auto b = s.st.watcher->budget();
  std::string limited_by = mjf::limit_names(b.limited_by);
  s.log.info("budget", {{"wall_seconds_left", b.wall_seconds_left},
                        {"limited_by", limited_by.empty() ? "unknown" : limited_by},
                        {"processors", b.processors.value_or(0)},
                        {"cpu_power_hs06", b.cpu_power_hs06.value_or(0)},
                        {"cpu_work_left_hs06s", b.cpu_work_left_hs06s},
                        {"shutdowns_announced", mjf::limit_names(b.shutdowns_announced)},
                        {"draining", b.draining}});
  if ((b.draining || !b.shutdowns_announced.empty()) && b.wall_seconds_left &&
      *b.wall_seconds_left <= 0)
    throw Error("the slot has already ended (" + limited_by + ")");
}

std::string grid_ce(const StartupState& s) {
  return s.config.ce.empty() ? s.st.setup.host_name : s.config.ce;
}

void name_pilot(StartupState& s) {
  auto& req = s.st.setup.base_request;
  s.st.setup.host_name = hostname();
  const auto& batch = s.st.watcher->observation().batch;
  if (!s.config.pilot_uuid.empty())
    req.pilot_reference = s.config.pilot_uuid;
  else if (batch && !batch->job_id.empty())
    req.pilot_reference = batch->system + "://" + grid_ce(s) + "/" + batch->job_id;
  else
    req.pilot_reference = "pilot://" + grid_ce(s) + "/" + random_hex(16);
  s.log.info("pilot reference", {{"reference", req.pilot_reference}});
}

// Processors, memory and CPU work: the configuration first, then what the budget found.
void describe_capacity(jobs::ResourceRequest& req, const Config& config,
                       const mjf::ResourceBudget& budget) {
  req.processors = config.processors > 0 ? config.processors
                   : budget.processors   ? static_cast<int>(*budget.processors)
                                         : 1;
  if (config.memory_mb > 0)
    req.max_ram_mb = config.memory_mb;
  else if (budget.memory_limit_bytes)
    req.max_ram_mb = *budget.memory_limit_bytes / 1048576;
  req.cpu_work_left_hs06s =
      budget.cpu_work_left_hs06s ? static_cast<std::int64_t>(*budget.cpu_work_left_hs06s) : 0;
  req.pilot_benchmark = budget.cpu_power_hs06.value_or(config.cpu_power_hs06);
}

void describe_resource(StartupState& s) {
  const Config& config = s.config;
  auto& req = s.st.setup.base_request;
  req.site = config.site;
  req.grid_ce = grid_ce(s);
  req.ce_queue = config.queue;
  req.platform = s.info.dirac_platform;
  req.tags = config.tags;
  req.required_tags = config.required_tags;
  req.dirac_runtime = s.st.setup.dirac_runtime.has_value();
  describe_capacity(req, config, s.st.watcher->budget());
  if (!config.release_version.empty()) req.extra["ReleaseVersion"] = config.release_version;
  if (!config.release_project.empty()) req.extra["ReleaseProject"] = config.release_project;
  req.extra["VirtualOrganization"] = config.vo;
  if (const auto& batch = s.st.watcher->observation().batch) {
    req.extra["GridMiddleware"] = batch->system;
    s.st.setup.batch_system = dirac_batch_system_name(batch->system);
  }
  s.log.info("resource description", {{"site", req.site},
                                      {"platform", req.platform},
                                      {"processors", req.processors},
                                      {"max_ram_mb", req.max_ram_mb},
                                      {"cpu_work_left_hs06s", req.cpu_work_left_hs06s}});
}

dirac::DiracConfig dirac_config(const Config& config, const fs::path& workdir) {
  dirac::DiracConfig dc;
  dc.matcher_urls = config.services.matcher;
  dc.job_state_urls = config.services.job_state_update;
  dc.pilot_logging_urls = config.services.pilot_logging;
  dc.sandbox_store_urls = config.services.sandbox_store;
  dc.proxy_manager_urls = config.services.proxy_manager;
  dc.job_manager_urls = config.services.job_manager;
  dc.rpc = rpc_options(config);
  dc.state_dir = workdir / ".pilot-state";
  dc.release_version = config.release_version;
  dc.release_project = config.release_project;
  auto secs = [](double s) { return std::chrono::seconds(static_cast<long>(s)); };
  dc.min_proxy_lifetime = secs(config.min_proxy_lifetime_s);
  dc.payload_proxy.required = config.payload_proxy_required;
  dc.payload_proxy.request.lifetime = secs(config.payload_proxy_lifetime_s);
  dc.payload_proxy.request.voms_attributes = config.payload_proxy_voms;
  dirac::voms_attribute_for(config.payload_proxy_voms, "");  // a malformed entry stops the start-up
  dc.payload_proxy.renewal = {secs(config.payload_proxy_check_s),
                              secs(config.payload_proxy_renew_before_s)};
  return dc;
}

// The embedded default: a local queue in <workdir>/demo-queue with the demo jobs.
fs::path demo_queue(const StartupState& s) {
  fs::path q = s.st.setup.workdir / "demo-queue";
  fs::create_directories(q);
  if (jobs::list_jobs(q).empty())
    for (const auto& [name, jdl] : demo_jobs()) jobs::submit_job(q, jdl, name);
  s.log.info("no job source configured: running the demo jobs", {{"queue", q.string()}});
  return q;
}

void open_job_source(StartupState& s) {
  if (s.config.uses_dirac()) {
    auto dc = dirac_config(s.config, s.st.setup.workdir);
    fs::create_directories(dc.state_dir);
    s.st.setup.source = std::make_unique<dirac::DiracJobSource>(dc, s.log.child("dirac"));
  } else {
    jobs::LocalQueueOptions lo;
    lo.root = fs::absolute(s.config.queue_dir.empty() ? demo_queue(s) : s.config.queue_dir);
    lo.platform_ok = s.st.setup.platform_ok;
    lo.proc_root = s.roots.proc;
    lo.logger = s.log.child("queue");
    lo.pilot_workdir = fs::absolute(s.st.setup.workdir);
    lo.held_by_job_dir = [proc = s.roots.proc](const fs::path& workdir, const std::string& id) {
      return lost_job_held(workdir, id, proc);
    };
    s.st.setup.source = std::make_unique<jobs::LocalQueue>(lo);
  }
  s.log.info("job source", {{"source", s.st.setup.source->describe()}});
}

struct StartupStep {
  const char* name;
  const char* trace_name;  // core/trace.hpp: ci/bench's start-up breakdown
  void (*run)(StartupState&);
  bool dirac_only;
};

// In the order of the DIRAC pilot's commands; each step may read what the ones before it found.
constexpr StartupStep kSteps[] = {
    {"node check", "startup.node_check", check_node, false},
    {"credentials", "startup.credentials", check_credentials, true},
    {"DIRAC runtime", "startup.dirac_runtime", find_dirac_runtime, false},
    {"platform", "startup.platform", probe_platform, false},
    {"budget", "startup.budget", read_budget, false},
    {"pilot reference", "startup.pilot_reference", name_pilot, false},
    {"resource description", "startup.resource", describe_resource, false},
    {"job source", "startup.job_source", open_job_source, false},
};

void run_step(StartupState& s, const StartupStep& step) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    step.run(s);
  } catch (const std::exception& e) {
    s.log.error("start-up step failed", {{"step", step.name}, {"error", e.what()}});
    throw StepFailed(step.name, e.what());
  }
  auto took = std::chrono::steady_clock::now() - t0;
  trace::add(step.trace_name, took);  // the summary's measure, also in the trace
  auto secs = std::chrono::duration<double>(took).count();
  s.st.phases.emplace_back(step.name, secs);
  s.log.info("start-up step done", {{"step", step.name}, {"seconds", secs}});
}

}  // namespace

Startup start_up(Config config, log::Logger log, const NodeRoots& roots) {
  Startup st;
  st.setup.proc_root = roots.proc;
  StartupState s{std::move(config), log, mjf::environment_of(environ), roots, st};
  for (const auto& step : kSteps)
    if (!step.dirac_only || s.config.uses_dirac()) run_step(s, step);
  st.setup.config = std::move(s.config);
  st.setup.log = log.child("agent");
  return st;
}

}  // namespace pilot::agent
