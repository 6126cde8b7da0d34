#include "mc/event_sizing.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace pilot::mc {

Sizing size_events(const SizingInputs& in) {
  if (!(in.cpue > 0) || !std::isfinite(in.cpue))
    throw Error("cannot size the number of events: CPUe (HS06 s per event) must be positive, got " +
                std::to_string(in.cpue));
  if (!(in.cpu_power_hs06 > 0) || !std::isfinite(in.cpu_power_hs06))
    throw Error("cannot size the number of events: the CPU power (HS06 per processor) is unknown");
  if (in.max_events && *in.max_events < 0)
    throw Error("MaxNumberOfEvents must not be negative, got " + std::to_string(*in.max_events));

  Sizing s;
  s.inputs = in;
  s.cpu_time_s = std::min(std::max(in.cpu_time_left_s, 0.0), kMaxCpuTimeSeconds);
  double work = std::floor(s.cpu_time_s * in.cpu_power_hs06);
  s.events_fit = static_cast<std::int64_t>(std::floor(work / in.cpue));
  s.events =
      static_cast<std::int64_t>(std::floor(static_cast<double>(s.events_fit) * kSafetyFactor));
  if (in.max_events && *in.max_events > 0 && *in.max_events < s.events) {
    s.events = *in.max_events;
    s.capped = true;
  }
  if (s.events < 1) throw Error("No time left to produce events");
  return s;
}

nlohmann::json to_json(const Sizing& s) {
  nlohmann::json j;
  j["cpu_time_left_s"] = s.inputs.cpu_time_left_s;
  j["cpu_time_left_source"] = s.inputs.cpu_time_left_source;
  j["cpu_time_s"] = s.cpu_time_s;
  j["cpu_power_hs06"] = s.inputs.cpu_power_hs06;
  j["cpu_power_source"] = s.inputs.cpu_power_source;
  j["cpue_hs06s"] = s.inputs.cpue;
  j["max_events"] = s.inputs.max_events ? nlohmann::json(*s.inputs.max_events) : nlohmann::json();
  j["safety_factor"] = kSafetyFactor;
  j["events_fit"] = s.events_fit;
  j["events"] = s.events;
  j["capped_by_max_events"] = s.capped;
  return j;
}

}  // namespace pilot::mc
