#include "jobwrapper/heartbeat.hpp"

#include <cmath>

namespace pilot::jobwrapper {

nlohmann::ordered_json to_json(const Heartbeat& h) {
  auto round2 = [](double v) { return std::round(v * 100) / 100; };
  nlohmann::ordered_json j;
  // The Watchdog converts the CPU time through h:m:s, so it reports whole seconds.
  j["CPUConsumed"] = std::floor(h.cpu_consumed_s);
  j["WallClockTime"] = round2(h.wall_clock_s);
  j["MemoryUsed"] = round2(h.memory_used_mb);
  j["Vsize"] = round2(h.vsize_mb);
  if (h.load_average) j["LoadAverage"] = *h.load_average;
  if (h.available_disk_mb) j["AvailableDiskSpace"] = round2(*h.available_disk_mb);
  j["StandardOutput"] = h.standard_output;
  return j;
}

}  // namespace pilot::jobwrapper
