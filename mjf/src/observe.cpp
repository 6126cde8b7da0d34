#include "mjf/observe.hpp"

#include "mjf/local_files.hpp"

namespace pilot::mjf {
namespace {

std::optional<Location> location_from(const Environment& env, std::string_view var,
                                      const log::Logger& log) {
  auto it = env.find(var);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  auto loc = parse_location(it->second);
  if (!loc)
    log.warn("ignoring an MJF location that is neither an absolute directory nor an http(s) URL",
             {{"variable", var}, {"value", it->second}});
  return loc;
}

void refresh_batch(Observation& obs, const ObserveSettings& settings, const log::Logger& log,
                   std::int64_t wall_now) {
  if (!obs.batch || !needs_batch_limits(obs.mjf)) return;
  BatchQuery q;
  q.timeout = settings.command_timeout;
  q.now = wall_now;
  BatchLimits fresh = query_batch_limits(*obs.batch, settings.env, q);
  for (const auto& p : fresh.problems)
    log.warn("batch system query incomplete",
             {{"batch_system", obs.batch->system}, {"problem", p}});
  // The end time keeps its last good value when the batch system cannot be asked this time.
  if (obs.batch_limits && !fresh.end_time && !fresh.unlimited) {
    fresh.end_time = obs.batch_limits->end_time;
    fresh.unlimited = obs.batch_limits->unlimited;
  }
  obs.batch_limits = std::move(fresh);
}

std::filesystem::path watched_drain_file(const ObserveSettings& s) {
  return s.drain_file.empty() ? drain_file_path(s.root) : s.drain_file;
}
}  // namespace

FeatureSources sources_from_environment(const Environment& env, const log::Logger& log) {
  FeatureSources s;
  s.machine = location_from(env, "MACHINEFEATURES", log);
  s.job = location_from(env, "JOBFEATURES", log);
  return s;
}

Observation observe(const ObserveSettings& settings, const log::Logger& log,
                    std::int64_t wall_now) {
  Observation obs;
  obs.mjf = read_features(settings.sources, log);
  refresh_shutdown_file(obs.shutdown_file, settings.root, log);
  obs.drain_file = drain_file_exists(watched_drain_file(settings));
  obs.batch = detect_batch_job(settings.env);
  obs.batch_processors = processors_from_environment(settings.env);
  refresh_batch(obs, settings, log, wall_now);
  return obs;
}

void reobserve(Observation& obs, const ObserveSettings& settings, const log::Logger& log,
               std::int64_t wall_now) {
  refresh_dynamic(obs.mjf, settings.sources, log);
  refresh_shutdown_file(obs.shutdown_file, settings.root, log);
  obs.drain_file = drain_file_exists(watched_drain_file(settings));
  refresh_batch(obs, settings, log, wall_now);
}

}  // namespace pilot::mjf
