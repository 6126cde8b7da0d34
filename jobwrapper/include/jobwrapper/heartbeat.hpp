#pragma once
// A heartbeat as DIRAC's JobStateUpdate.sendHeartBeat expects it.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace pilot::jobwrapper {

struct Heartbeat {
  double cpu_consumed_s = 0;                // CPUConsumed: tree CPU time, s
  double wall_clock_s = 0;                  // WallClockTime: s since the payload started
  std::uint64_t memory_used_kb = 0;         // MemoryUsed: tree PSS (RSS when PSS is unreadable), kB
  std::uint64_t vsize_kb = 0;               // Vsize: tree virtual size, kB
  std::optional<double> load_average;       // LoadAverage: 1-minute load of the node
  std::optional<double> available_disk_mb;  // AvailableDiskSpace: MB free in the job directory
  std::string standard_output;              // StandardOutput: the last lines of stdout
};

// {"CPUConsumed":..,"WallClockTime":..,"MemoryUsed":..,"Vsize":..,"LoadAverage":..,
//  "AvailableDiskSpace":..,"StandardOutput":".."}; unknown values are omitted.
nlohmann::ordered_json to_json(const Heartbeat& h);

}  // namespace pilot::jobwrapper
