// `pilot run`: the agent a batch system, a VM or a farm slot starts.

#include <signal.h>

#include <cstdlib>

#include <iostream>
#include <optional>

#include "agent/agent.hpp"
#include "agent/config.hpp"
#include "agent/log_shipper.hpp"
#include "agent/startup.hpp"
#include "cli.hpp"
#include "core/error.hpp"
#include "core/trace.hpp"
#include "jobwrapper/container.hpp"

namespace pilot::cli {
namespace {

struct RunOptions {
  std::string config;
  std::vector<std::string> set;
  std::string workdir;
  std::string queue;
  std::string container = "none";
  bool print_config = false;
  bool json = false;
  double watch_period = 30;
};

std::optional<std::string> environment_value(const std::string& k) {
  const char* v = std::getenv(k.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

// The embedded default runs a handful of short jobs and ends when the queue is empty.
void apply_demo_defaults(agent::Config& config) {
  if (config.cpu_power_hs06 <= 0) config.cpu_power_hs06 = 10;
  if (config.processors <= 0) config.processors = 2;
  config.pacing.polling_s = std::min(config.pacing.polling_s, 1.0);
  config.pacing.no_match_base_s = std::min(config.pacing.no_match_base_s, 1.0);
  config.pacing.error_base_s = std::min(config.pacing.error_base_s, 1.0);
  config.stop_after_failed_matches = 1;
  config.min_free_disk_mb = std::min(config.min_free_disk_mb, 100.0);
}

agent::Config effective_config(const RunOptions& o) {
  auto overrides = o.set;
  if (!o.workdir.empty()) overrides.push_back("workdir=" + o.workdir);
  if (!o.queue.empty()) overrides.push_back("queue_dir=" + o.queue);
  auto config = agent::load_config(
      o.config.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.config), overrides,
      environment_value);
  bool demo = !config.uses_dirac() && config.queue_dir.empty();
  if (demo) apply_demo_defaults(config);
  return config;
}

void prepare_signals() {
  ::signal(SIGPIPE, SIG_IGN);
  // Signals are handled by the agent's event loop; blocked until it waits for them, so a reclaim
  // during start-up is not lost (it is delivered when the loop starts).
  sigset_t set = agent::stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// The pilot's log goes to PilotLogging too when configured: buffered from the first line.
std::unique_ptr<agent::LogShipper> tee_to_pilot_logging(const agent::Config& config,
                                                        const log::Logger& log) {
  if (config.services.pilot_logging.empty()) return nullptr;
  auto shipper = std::make_unique<agent::LogShipper>();
  log.set_tee([s = shipper.get()](const std::string& line) { s->add(line); });
  return shipper;
}

// Declared after the shipper: the logger stops calling it before it is destroyed.
struct Untee {
  const log::Logger& log;
  ~Untee() { log.set_tee(nullptr); }
};

void start_shipping(agent::LogShipper& shipper, const agent::Config& config,
                    const agent::Startup& st) {
  std::string uuid =
      config.pilot_uuid.empty() ? st.setup.base_request.pilot_reference : config.pilot_uuid;
  shipper.start({config.services.pilot_logging, agent::rpc_options(st.setup.config), {}}, uuid,
                config.vo);
}

jobwrapper::ContainerSpec container_spec(const std::string& runtime,
                                         const agent::AgentSetup& setup) {
  auto want = jobwrapper::parse_runtime(runtime);
  auto found = jobwrapper::find_runtime(want);
  if (!found) throw Error("no container runtime '" + runtime + "' on this node");
  jobwrapper::ContainerSpec c;
  c.runtime = found->runtime;
  c.executable = found->executable;
  c.binds = {"/cvmfs"};
  c.hide = {setup.workdir};
  if (!setup.config.proxy.empty()) c.hide.push_back(setup.config.proxy);
  return c;
}

void log_summary(const log::Logger& log, const agent::AgentSummary& summary,
                 const nlohmann::json& j) {
  log.info("pilot summary", {{"jobs", summary.jobs_matched + summary.jobs_recovered},
                             {"started", summary.jobs_started},
                             {"succeeded", summary.jobs_succeeded},
                             {"failed", summary.jobs_failed},
                             {"rescheduled", summary.jobs_rescheduled},
                             {"events", summary.events},
                             {"cpu_efficiency", j.at("cpu_efficiency").get<double>()},
                             {"stop_reason", j.at("stop_reason").get<std::string>()}});
}

int exit_code(const agent::AgentSummary& summary) {
  return summary.stop == agent::StopReason::version_mismatch ||
                 summary.stop == agent::StopReason::host_failures
             ? 1
             : 0;
}

int run_agent_command(Cli& cli, const RunOptions& o) {
  auto log = cli.logger("pilot");
  std::optional<trace::Phase> configuration(std::in_place, "startup.configuration");
  auto config = effective_config(o);
  configuration.reset();
  if (o.print_config) {
    std::cout << agent::config_to_json(config).dump(2) << '\n';
    return 0;
  }
  prepare_signals();
  auto shipper = tee_to_pilot_logging(config, log);
  Untee untee{log};

  agent::Startup st;
  try {
    st = agent::start_up(config, log);
  } catch (const agent::StepFailed& e) {
    std::cerr << "pilot run: " << e.what() << '\n';
    return 3;
  }
  if (shipper) start_shipping(*shipper, config, st);
  if (o.container != "none") st.setup.container = container_spec(o.container, st.setup);
  st.setup.watch_period = std::chrono::milliseconds(static_cast<long>(o.watch_period * 1000));
  // The agent unblocks them once its handler is in place (a signal sent during start-up is then
  // handled, not the default death).
  auto summary = agent::run_agent(st.setup);
  summary.phases.insert(summary.phases.begin(), st.phases.begin(), st.phases.end());
  auto j = agent::to_json(summary);
  log_summary(log, summary, j);
  if (o.json)
    std::cout << j.dump() << '\n';
  else
    std::cout << j.dump(2) << '\n';
  int rc = exit_code(summary);
  if (summary.reports_abandoned) {
    // A worker thread is still inside a call to the silent server and uses the job source:
    // end here, the reports are on disk for the next pilot.
    std::cout.flush();
    std::_Exit(rc);
  }
  if (shipper) shipper->finish(rc);
  return rc;
}

}  // namespace

void add_run_command(Cli& cli) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = cli.app.add_subcommand(
      "run", "Run the agent: pull jobs and run them until the slot or the work ends");
  sub->add_option("--config", o->config, "Configuration file (JSON)")->check(CLI::ExistingFile);
  sub->add_option("--set", o->set,
                  "Override one option: KEY=VALUE (repeatable; dotted keys, JSON values)");
  sub->add_option("--workdir", o->workdir, "Work directory (job directories go below it)");
  sub->add_option("--queue", o->queue, "Local queue directory (instead of a DIRAC server)");
  sub->add_option("--container", o->container,
                  "Run payloads in a container: none, auto, apptainer, singularity, bubblewrap");
  sub->add_option("--watch-period", o->watch_period, "Seconds between MJF/batch re-checks")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--print-config", o->print_config, "Print the effective configuration and exit");
  sub->add_flag("--json", o->json, "Print the final summary as one JSON line");
  sub->callback([&cli, o] { cli.run = [&cli, o] { return run_agent_command(cli, *o); }; });
}

}  // namespace pilot::cli
