#pragma once
// Reading the node: where MJF is published (from the environment or an operator's override), and
// one full observation (every MJF key, local files, batch system) or a re-check of only what can
// change while the pilot runs (shutdown times, the shutdown and drain files, the batch system's
// end time).

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "core/log.hpp"
#include "mjf/batch.hpp"
#include "mjf/budget.hpp"
#include "mjf/features.hpp"

namespace pilot::mjf {

struct ObserveSettings {
  FeatureSources sources;
  std::filesystem::path root = "/";  // for var/run/shutdown_time and var/lib/dirac_drain
  std::filesystem::path drain_file;  // the drain file watched; empty: root/var/lib/dirac_drain
  Environment env;                   // the batch environment (and PATH for its commands)
  std::chrono::milliseconds command_timeout{10000};
};

// MACHINEFEATURES and JOBFEATURES from `env`; an unset, empty, relative or file:// value gives
// no location (a set but unusable value is logged as a warning).
FeatureSources sources_from_environment(const Environment& env, const log::Logger& log);

// Everything, once. `wall_now` is the real clock (epoch seconds), used to turn the batch
// system's "time left" answers into end times.
Observation observe(const ObserveSettings& settings, const log::Logger& log, std::int64_t wall_now);

// Re-reads the dynamic values into `obs`, keeping last good values where a re-read fails.
void reobserve(Observation& obs, const ObserveSettings& settings, const log::Logger& log,
               std::int64_t wall_now);

}  // namespace pilot::mjf
