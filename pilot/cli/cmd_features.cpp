// `pilot features`: what the slot gives this pilot (MJF, batch system, local files,
// configuration) and the resource budget computed from it.

#include <ctime>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.hpp"
#include "mjf/budget.hpp"
#include "mjf/observe.hpp"

extern char** environ;

namespace pilot::cli {
namespace {

struct FeaturesOptions {
  bool json = false;
  std::optional<std::int64_t> now;
  std::string root = "/";
  std::optional<std::string> machine_features;
  std::optional<std::string> job_features;
  std::optional<double> cpu_power;
  std::optional<std::int64_t> processors;
  std::optional<std::int64_t> wall_limit;
  std::optional<std::int64_t> memory_limit;
  double timeout = 5;
};

template <typename T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

nlohmann::ordered_json or_null(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

template <typename Set>
nlohmann::ordered_json keys_json(const Set& set) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  mjf::for_each_key(
      set, [&](std::string_view key, const auto& field) { j[std::string(key)] = or_null(field); });
  return j;
}

std::string utc(std::int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream s;
  s << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return s.str();
}

// Numbers as the JSON output writes them ("80.0", not "8e+01").
template <typename T>
std::string text(const T& v) {
  if constexpr (std::is_same_v<T, std::string>)
    return v;
  else
    return nlohmann::json(v).dump();
}

nlohmann::ordered_json to_json(const mjf::ObserveSettings& settings, const mjf::Observation& obs,
                               const mjf::ResourceBudget& b, std::int64_t now) {
  nlohmann::ordered_json j;
  j["now"] = now;
  j["sources"]["machine"] =
      settings.sources.machine ? nlohmann::ordered_json(settings.sources.machine->base) : nullptr;
  j["sources"]["job"] =
      settings.sources.job ? nlohmann::ordered_json(settings.sources.job->base) : nullptr;
  j["machine"] = keys_json(obs.mjf.machine);
  j["job"] = keys_json(obs.mjf.job);
  j["shutdown_file"] = or_null(obs.shutdown_file);
  j["drain_file"] = obs.drain_file;
  j["batch_system"]["name"] = obs.batch ? nlohmann::ordered_json(obs.batch->system) : nullptr;
  j["batch_system"]["job_id"] = obs.batch ? or_null(obs.batch->job_id) : nullptr;
  j["batch_system"]["end_time"] = obs.batch_limits ? or_null(obs.batch_limits->end_time) : nullptr;
  j["batch_system"]["unlimited"] = obs.batch_limits && obs.batch_limits->unlimited;
  j["batch_system"]["problems"] =
      obs.batch_limits ? obs.batch_limits->problems : std::vector<std::string>{};
  j["wall_seconds_left"] = or_null(b.wall_seconds_left);
  j["limited_by"] = b.limited_by.empty() ? nlohmann::ordered_json(nullptr)
                                         : nlohmann::ordered_json(mjf::limit_names(b.limited_by));
  j["deadline"] = b.deadlines.empty() ? nlohmann::ordered_json(nullptr)
                                      : nlohmann::ordered_json(b.deadlines.front().epoch);
  j["deadlines"] = nlohmann::ordered_json::array();
  for (const auto& d : b.deadlines)
    j["deadlines"].push_back(
        {{"source", std::string(mjf::limit_name(d.source))}, {"epoch", d.epoch}});
  j["cpu_seconds_left"] = or_null(b.cpu_seconds_left);
  j["processors"] = or_null(b.processors);
  j["processors_source"] = or_null(b.processors_source);
  j["memory_limit_bytes"] = or_null(b.memory_limit_bytes);
  j["memory_limit_source"] = or_null(b.memory_limit_source);
  j["cpu_power_hs06"] = or_null(b.cpu_power_hs06);
  j["cpu_power_source"] = or_null(b.cpu_power_source);
  j["cpu_work_left_hs06s"] = or_null(b.cpu_work_left_hs06s);
  j["shutdowns_announced"] = nlohmann::ordered_json::array();
  for (auto l : b.shutdowns_announced) j["shutdowns_announced"].push_back(mjf::limit_name(l));
  j["draining"] = b.draining;
  // Until the next release, what `draining` meant before it was kept for the drain file: any
  // shutdown announced, or the drain file.
  j["drain_reasons"] = j["shutdowns_announced"];
  if (b.draining) j["drain_reasons"].push_back("drain_file");
  return j;
}

void print_text(const mjf::ObserveSettings& settings, const mjf::Observation& obs,
                const mjf::ResourceBudget& b, std::int64_t now) {
  auto& o = std::cout;
  auto line = [&](std::string_view label) -> std::ostream& {
    return o << std::left << std::setw(20) << label;
  };
  auto src = [](const std::string& s) { return s.empty() ? std::string() : " (" + s + ")"; };
  line("now") << now << ' ' << utc(now) << '\n';
  line("wall seconds left");
  if (b.wall_seconds_left)
    o << *b.wall_seconds_left << " (limited by " << mjf::limit_names(b.limited_by) << ", until "
      << utc(b.deadlines.front().epoch) << ")\n";
  else
    o << "unknown\n";
  line("cpu seconds left") << (b.cpu_seconds_left ? std::to_string(*b.cpu_seconds_left) : "unknown")
                           << '\n';
  line("processors") << (b.processors ? std::to_string(*b.processors) + src(b.processors_source)
                                      : "unknown")
                     << '\n';
  line("memory limit") << (b.memory_limit_bytes ? std::to_string(*b.memory_limit_bytes) + " bytes" +
                                                      src(b.memory_limit_source)
                                                : "unknown")
                       << '\n';
  line("cpu power");
  if (b.cpu_power_hs06)
    o << text(*b.cpu_power_hs06) << " HS06 per processor" << src(b.cpu_power_source) << '\n';
  else
    o << "unknown\n";
  line("cpu work left");
  if (b.cpu_work_left_hs06s)
    o << text(*b.cpu_work_left_hs06s) << " HS06 s\n";
  else
    o << "unknown\n";
  line("shutdowns announced") << (b.shutdowns_announced.empty()
                                      ? "none"
                                      : mjf::limit_names(b.shutdowns_announced))
                              << '\n';
  line("draining") << (b.draining ? "yes (drain file)" : "no") << '\n';
  line("batch system");
  if (obs.batch)
    o << obs.batch->system << " job " << (obs.batch->job_id.empty() ? "?" : obs.batch->job_id)
      << '\n';
  else
    o << "none\n";
  if (obs.batch_limits)
    for (const auto& p : obs.batch_limits->problems) o << "  problem: " << p << '\n';
  auto print_set = [&](std::string_view label, const std::optional<mjf::Location>& loc,
                       const auto& set) {
    line(label) << (loc ? loc->base : "not published") << '\n';
    if (!loc) return;
    mjf::for_each_key(set, [&](std::string_view key, const auto& field) {
      if (field) o << "  " << std::left << std::setw(22) << key << text(*field) << '\n';
    });
  };
  print_set("machine features", settings.sources.machine, obs.mjf.machine);
  print_set("job features", settings.sources.job, obs.mjf.job);
  if (obs.shutdown_file)
    line("shutdown file") << *obs.shutdown_file << ' ' << utc(*obs.shutdown_file) << '\n';
  if (obs.drain_file) line("drain file") << "present\n";
}

std::optional<mjf::Location> location_option(const std::string& value, std::string_view option) {
  if (value.empty()) return std::nullopt;  // explicitly none
  auto loc = mjf::parse_location(value);
  if (!loc)
    throw CLI::ValidationError(
        std::string(option), "'" + value + "' is neither an absolute directory nor an http(s) URL");
  return loc;
}

}  // namespace

void add_features_command(Cli& cli) {
  auto* sub = cli.app.add_subcommand(
      "features",
      "Show Machine/Job Features, batch-system limits and the resource budget of this slot");
  auto o = std::make_shared<FeaturesOptions>();
  sub->add_flag("--json", o->json, "One JSON object instead of text");
  sub->add_option("--now", o->now, "Compute the budget at this epoch time instead of the clock");
  sub->add_option("--root", o->root,
                  "Root directory for var/run/shutdown_time and var/lib/dirac_drain");
  sub->add_option(
      "--machine-features", o->machine_features,
      "MJF machine features directory or URL (overrides $MACHINEFEATURES; empty: none)");
  sub->add_option("--job-features", o->job_features,
                  "MJF job features directory or URL (overrides $JOBFEATURES; empty: none)");
  sub->add_option("--cpu-power", o->cpu_power,
                  "Configured HS06 per processor, used when MJF has none")
      ->check(CLI::PositiveNumber);
  sub->add_option("--processors", o->processors,
                  "Configured processors, used when MJF and the batch system have none")
      ->check(CLI::PositiveNumber);
  sub->add_option(
         "--wall-limit", o->wall_limit,
         "Configured wall limit in seconds from now, used when MJF and the batch system have none")
      ->check(CLI::PositiveNumber);
  sub->add_option("--memory-limit", o->memory_limit,
                  "Configured memory limit in bytes, used when MJF and the batch system have none")
      ->check(CLI::PositiveNumber);
  sub->add_option("--timeout", o->timeout,
                  "Seconds allowed for each MJF HTTP request and each batch command")
      ->check(CLI::Range(0.1, 600.0));
  sub->callback([&cli, o] {
    // Locations given on the command line are checked now, so a bad one is a usage error.
    std::optional<std::optional<mjf::Location>> machine, job;
    if (o->machine_features) machine = location_option(*o->machine_features, "--machine-features");
    if (o->job_features) job = location_option(*o->job_features, "--job-features");
    cli.run = [&cli, o, machine, job] {
      auto log = cli.logger("features");
      mjf::ObserveSettings settings;
      settings.env = mjf::environment_of(environ);
      settings.sources = mjf::sources_from_environment(settings.env, log);
      if (machine) settings.sources.machine = *machine;
      if (job) settings.sources.job = *job;
      if (auto it = settings.env.find("X509_CERT_DIR");
          it != settings.env.end() && !it->second.empty())
        settings.sources.fetch.tls.ca_dir = it->second;
      auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(o->timeout * 1000));
      settings.sources.fetch.timeout = ms;
      settings.sources.fetch.connect_timeout = std::min(ms, settings.sources.fetch.connect_timeout);
      settings.command_timeout = ms;
      settings.root = o->root;

      auto wall_now = static_cast<std::int64_t>(std::time(nullptr));
      auto now = o->now.value_or(wall_now);
      mjf::Config config;
      config.cpu_power_hs06 = o->cpu_power;
      config.processors = o->processors;
      config.wall_limit_secs = o->wall_limit;
      config.memory_limit_bytes = o->memory_limit;
      config.started_at = now;
      auto obs = mjf::observe(settings, log, wall_now);
      auto budget = mjf::compute_budget(obs, config, now);
      if (o->json)
        std::cout << to_json(settings, obs, budget, now).dump(2) << '\n';
      else
        print_text(settings, obs, budget, now);
      return 0;
    };
  });
}

}  // namespace pilot::cli
