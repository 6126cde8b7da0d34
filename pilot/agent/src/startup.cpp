#include "agent/startup.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <chrono>
#include <map>

#include "core/error.hpp"
#include "core/filesystem_space.hpp"
#include "core/fs.hpp"
#include "dirac/credentials.hpp"
#include "dirac/dirac_job_source.hpp"
#include "dirac/proxy_manager.hpp"
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

template <typename F>
auto step(Startup& st, const log::Logger& log, const std::string& name, F&& f) {
  auto t0 = std::chrono::steady_clock::now();
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      st.phases.emplace_back(name, secs);
      log.info("start-up step done", {{"step", name}, {"seconds", secs}});
    } else {
      auto r = f();
      auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      st.phases.emplace_back(name, secs);
      log.info("start-up step done", {{"step", name}, {"seconds", secs}});
      return r;
    }
  } catch (const StepFailed&) {
    throw;
  } catch (const std::exception& e) {
    log.error("start-up step failed", {{"step", name}, {"error", e.what()}});
    throw StepFailed(name, e.what());
  }
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

dirac::RpcOptions rpc_options(const Config& config) {
  dirac::RpcOptions o;
  o.credentials =
      config.host_cert.empty()
          ? dirac::Credentials{config.proxy, {}, config.cert_dir, false}
          : dirac::Credentials{config.host_cert, config.host_key, config.cert_dir, true};
  o.setup = config.setup;
  o.vo = config.vo;
  auto ms = [](double s, const char* key) {
    if (s <= 0)
      throw Error(std::string("configuration option '") + key + "' must be above 0 seconds");
    return std::chrono::milliseconds(static_cast<std::int64_t>(s * 1000));
  };
  o.connect_timeout = ms(config.rpc_connect_timeout_s, "rpc_connect_timeout_s");
  o.timeout = ms(config.rpc_timeout_s, "rpc_timeout_s");
  return o;
}

Startup start_up(Config config, log::Logger log) {
  Startup st;
  auto env = mjf::environment_of(environ);
  auto getenv = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    if (it == env.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };

  st.setup.workdir = step(st, log, "node check", [&] {
    fs::path wd = fs::absolute(config.workdir);
    fs::create_directories(wd);
    struct utsname u {};
    ::uname(&u);
    log.info("node", {{"host", std::string(u.nodename)},
                      {"kernel", std::string(u.release)},
                      {"machine", std::string(u.machine)},
                      {"workdir", wd.string()}});
    auto space = filesystem_space(wd);
    if (!space) throw_errno("cannot read the free space of " + wd.string(), errno);
    double free_mb = static_cast<double>(space->free_bytes) / 1048576.0;
    if (free_mb < config.min_free_disk_mb)
      throw Error(std::to_string(static_cast<long>(free_mb)) + " MB free in " + wd.string() +
                  ", at least " + std::to_string(static_cast<long>(config.min_free_disk_mb)) +
                  " MB are needed");
    for (const auto& repo : config.cvmfs_repositories) {
      std::error_code ec;
      fs::path p = fs::path("/cvmfs") / repo;
      if (!fs::is_directory(p, ec) || fs::directory_iterator(p, ec) == fs::directory_iterator()) {
        if (config.require_cvmfs)
          throw Error("CVMFS repository " + repo + " is not available under /cvmfs");
        log.warn("CVMFS repository not available", {{"repository", repo}});
      }
    }
    return wd;
  });

  if (config.uses_dirac()) {
    step(st, log, "credentials", [&] {
      auto lookup = [&](const std::string& k) -> std::optional<std::string> {
        if (k == "X509_USER_PROXY" && !config.proxy.empty()) return config.proxy.string();
        if (k == "X509_CERT_DIR" && !config.cert_dir.empty()) return config.cert_dir.string();
        if (k == "X509_USER_CERT" && !config.host_cert.empty()) return config.host_cert.string();
        if (k == "X509_USER_KEY" && !config.host_key.empty()) return config.host_key.string();
        return getenv(k);
      };
      auto creds = dirac::find_credentials(lookup, ::getuid());
      auto info = dirac::read_certificate_info(creds.cert);
      auto check = dirac::check_lifetime(
          info, std::chrono::system_clock::now(),
          std::chrono::seconds(static_cast<long>(config.min_proxy_lifetime_s)),
          std::chrono::hours(6));
      if (!check.usable) throw Error(creds.cert.string() + ": " + check.message);
      if (check.warn)
        log.warn("credential expires soon",
                 {{"file", creds.cert.string()}, {"detail", check.message}});
      log.info("credential", {{"subject", info.subject},
                              {"group", info.group.value_or("")},
                              {"seconds_left", static_cast<std::int64_t>(check.left.count())}});
      config.proxy = creds.cert;
      config.cert_dir = creds.ca_dir;
    });
  }

  auto info = step(st, log, "platform", [&] {
    platform::ProbeOptions po;
    po.workdir = st.setup.workdir;
    po.containers = false;  // the container check runs images; the agent does not need it to start
    if (auto cc = getenv("CC")) po.cc = *cc;
    if (auto f = getenv("force_host_os")) po.force_host_os = *f;
    if (auto p = mjf::processors_from_environment(env)) po.batch_cpus = static_cast<int>(p->count);
    auto i = platform::probe(po);
    log.info("platform", {{"dirac_platform", i.dirac_platform},
                          {"host_binary_tag", i.ids.host_binary_tag()},
                          {"usable_cpus", i.cpus.usable.value_or(i.cpus.logical)}});
    return i;
  });

  step(st, log, "budget", [&] {
    mjf::ObserveSettings os;
    os.env = env;
    os.sources = mjf::sources_from_environment(env, log);
    os.drain_file = config.drain_file;  // moved by the operator: the default place is not watched
    mjf::Config mc;
    if (config.cpu_power_hs06 > 0) mc.cpu_power_hs06 = config.cpu_power_hs06;
    if (config.processors > 0) mc.processors = config.processors;
    if (config.wall_limit_s > 0)
      mc.wall_limit_secs = static_cast<std::int64_t>(config.wall_limit_s);
    if (config.memory_mb > 0) mc.memory_limit_bytes = config.memory_mb * 1048576;
    mc.started_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    st.watcher = std::make_unique<mjf::Watcher>(os, mc, log.child("mjf"));
    auto b = st.watcher->budget();
    log.info("budget", {{"wall_seconds_left", b.wall_seconds_left.value_or(-1)},
                        {"limited_by",
                         b.limited_by ? std::string(mjf::limit_name(*b.limited_by)) : "unknown"},
                        {"processors", b.processors.value_or(0)},
                        {"cpu_power_hs06", b.cpu_power_hs06.value_or(0)},
                        {"cpu_work_left_hs06s", b.cpu_work_left_hs06s.value_or(-1)},
                        {"draining", b.draining}});
    st.setup.watcher = st.watcher.get();
    if (b.draining && b.wall_seconds_left && *b.wall_seconds_left <= 0)
      throw Error("the slot has already ended (" +
                  (b.limited_by ? std::string(mjf::limit_name(*b.limited_by)) : "") + ")");
  });

  auto budget = st.watcher->budget();
  auto& req = st.setup.base_request;
  step(st, log, "pilot reference", [&] {
    st.setup.host_name = hostname();
    std::string ce = config.ce.empty() ? st.setup.host_name : config.ce;
    const auto& batch = st.watcher->observation().batch;
    if (!config.pilot_uuid.empty())
      req.pilot_reference = config.pilot_uuid;
    else if (batch && !batch->job_id.empty())
      req.pilot_reference = batch->system + "://" + ce + "/" + batch->job_id;
    else
      req.pilot_reference = "pilot://" + ce + "/" + random_hex(16);
    log.info("pilot reference", {{"reference", req.pilot_reference}});
  });

  step(st, log, "resource description", [&] {
    req.site = config.site;
    req.grid_ce = config.ce.empty() ? st.setup.host_name : config.ce;
    req.ce_queue = config.queue;
    req.platform = info.dirac_platform;
    req.tags = config.tags;
    req.required_tags = config.required_tags;
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
    if (!config.release_version.empty()) req.extra["ReleaseVersion"] = config.release_version;
    if (!config.release_project.empty()) req.extra["ReleaseProject"] = config.release_project;
    req.extra["VirtualOrganization"] = config.vo;
    if (const auto& batch = st.watcher->observation().batch) {
      req.extra["GridMiddleware"] = batch->system;
      st.setup.batch_system = dirac_batch_system_name(batch->system);
    }
    log.info("resource description", {{"site", req.site},
                                      {"platform", req.platform},
                                      {"processors", req.processors},
                                      {"max_ram_mb", req.max_ram_mb},
                                      {"cpu_work_left_hs06s", req.cpu_work_left_hs06s}});
  });

  st.setup.platform_ok = [platform = info.dirac_platform](const std::string& required) {
    try {
      return platform::can_run(platform, required);
    } catch (const std::exception&) {
      return false;
    }
  };

  step(st, log, "job source", [&] {
    if (config.uses_dirac()) {
      dirac::DiracConfig dc;
      dc.matcher_urls = config.services.matcher;
      dc.job_state_urls = config.services.job_state_update;
      dc.pilot_logging_urls = config.services.pilot_logging;
      dc.sandbox_store_urls = config.services.sandbox_store;
      dc.rpc = rpc_options(config);
      dc.state_dir = st.setup.workdir / ".pilot-state";
      fs::create_directories(dc.state_dir);
      dc.release_version = config.release_version;
      dc.release_project = config.release_project;
      dc.min_proxy_lifetime = std::chrono::seconds(static_cast<long>(config.min_proxy_lifetime_s));
      dc.proxy_manager_urls = config.services.proxy_manager;
      dc.job_manager_urls = config.services.job_manager;
      auto secs = [](double s) { return std::chrono::seconds(static_cast<long>(s)); };
      dc.payload_proxy.required = config.payload_proxy_required;
      dc.payload_proxy.request.lifetime = secs(config.payload_proxy_lifetime_s);
      dc.payload_proxy.request.voms_attributes = config.payload_proxy_voms;
      dirac::voms_attribute_for(config.payload_proxy_voms,
                                "");  // a malformed entry stops the start-up
      dc.payload_proxy.renewal = {secs(config.payload_proxy_check_s),
                                  secs(config.payload_proxy_renew_before_s)};
      st.setup.source = std::make_unique<dirac::DiracJobSource>(dc, log.child("dirac"));
    } else {
      fs::path q = config.queue_dir;
      if (q.empty()) {
        // The embedded default: a local queue with the demo jobs.
        q = st.setup.workdir / "demo-queue";
        fs::create_directories(q);
        if (jobs::list_jobs(q).empty())
          for (const auto& [name, jdl] : demo_jobs()) jobs::submit_job(q, jdl, name);
        log.info("no job source configured: running the demo jobs", {{"queue", q.string()}});
      }
      jobs::LocalQueueOptions lo;
      lo.root = fs::absolute(q);
      lo.platform_ok = st.setup.platform_ok;
      lo.logger = log.child("queue");
      st.setup.source = std::make_unique<jobs::LocalQueue>(lo);
    }
    log.info("job source", {{"source", st.setup.source->describe()}});
  });

  st.setup.config = config;
  st.setup.log = log.child("agent");
  return st;
}

}  // namespace pilot::agent
