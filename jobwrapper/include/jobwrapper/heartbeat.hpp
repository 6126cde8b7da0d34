#pragma once
// A heartbeat as DIRAC's JobStateUpdate.sendHeartBeat expects it, in the units of DIRAC's
// Watchdog: memory as its Profiler gives it (RSS and virtual size summed over the payload tree,
// MB), wall time multiplied by the job's processors, CPU in whole seconds.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace pilot::jobwrapper {

struct Heartbeat {
  double cpu_consumed_s = 0;           // CPUConsumed: tree CPU time (user + system), s
  double wall_clock_s = 0;             // WallClockTime: s since the payload started x processors
  double memory_used_mb = 0;           // MemoryUsed: tree RSS, MB (2^20 bytes)
  double vsize_mb = 0;                 // Vsize: tree virtual size, MB
  std::optional<double> load_average;  // LoadAverage: 1-minute load of the node
  std::optional<double> available_disk_mb;  // AvailableDiskSpace: MB free in the job directory
  std::string standard_output;              // StandardOutput: the last lines of stdout
};

// {"CPUConsumed":..,"WallClockTime":..,"MemoryUsed":..,"Vsize":..,"LoadAverage":..,
//  "AvailableDiskSpace":..,"StandardOutput":".."}; unknown values are omitted.
nlohmann::ordered_json to_json(const Heartbeat& h);

}  // namespace pilot::jobwrapper
