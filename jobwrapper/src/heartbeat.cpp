#include "jobwrapper/heartbeat.hpp"

#include <cmath>

namespace pilot::jobwrapper {

nlohmann::ordered_json to_json(const Heartbeat& h) {
  auto round2 = [](double v) { return std::round(v * 100) / 100; };
  nlohmann::ordered_json j;
  j["CPUConsumed"] = round2(h.cpu_consumed_s);
  j["WallClockTime"] = round2(h.wall_clock_s);
  j["MemoryUsed"] = h.memory_used_kb;
  j["Vsize"] = h.vsize_kb;
  if (h.load_average) j["LoadAverage"] = *h.load_average;
  if (h.available_disk_mb) j["AvailableDiskSpace"] = round2(*h.available_disk_mb);
  j["StandardOutput"] = h.standard_output;
  return j;
}

}  // namespace pilot::jobwrapper
