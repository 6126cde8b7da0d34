// The hlt scenario simulates what the HLT farm runs: the pacing bootstrap/pilot-slot.service
// gives its pilots. Two copies of those settings that drift apart would make the README's farm
// figures describe a pilot nobody runs.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "farmsim/scenario.hpp"

using namespace pilot::farmsim;

namespace {

// key -> value of the `--set key=value` options in the unit's PILOT_SLOT_PACING.
std::map<std::string, std::string> unit_pacing_options() {
  std::ifstream unit(std::string(PILOT_SOURCE_DIR) + "/bootstrap/pilot-slot.service");
  REQUIRE(unit);
  std::string line, prefix = "Environment=\"PILOT_SLOT_PACING=";
  while (std::getline(unit, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream words(line.substr(prefix.size(), line.size() - prefix.size() - 1));
    std::map<std::string, std::string> options;
    std::string flag, assignment;
    while (words >> flag >> assignment) {
      REQUIRE(flag == "--set");
      auto eq = assignment.find('=');
      REQUIRE(eq != std::string::npos);
      options[assignment.substr(0, eq)] = assignment.substr(eq + 1);
    }
    return options;
  }
  FAIL("no PILOT_SLOT_PACING line in pilot-slot.service");
  return {};
}

}  // namespace

TEST_CASE("the hlt scenario's pilots are paced as pilot-slot.service paces the HLT farm's") {
  auto options = unit_pacing_options();
  auto s = preset(ScenarioKind::hlt);
  const auto& p = s.ours.pacing;
  const std::map<std::string, double> simulated = {
      {"pacing.start_spread_s", p.start_spread_s},
      {"pacing.no_match_base_s", p.no_match_base_s},
      {"pacing.no_match_cap_s", p.no_match_cap_s},
      {"pacing.error_base_s", p.error_base_s},
      {"pacing.error_cap_s", p.error_cap_s},
      {"pacing.max_requests_per_s", p.max_requests_per_s},
      {"max_host_failures", s.ours.loop.max_host_failures},
      {"stop_after_failed_matches", s.ours.loop.stop_after_failed_matches}};
  for (const auto& [key, value] : options) {
    INFO(key << "=" << value);
    REQUIRE(simulated.count(key) == 1);  // a key the unit sets and this check does not know
    CHECK(std::stod(value) == simulated.at(key));
  }
  // And the settings the unit does not name are the pilot's defaults, in both.
  pilot::agent::PacingLimits defaults;
  if (!options.count("pacing.no_match_base_s"))
    CHECK(p.no_match_base_s == defaults.no_match_base_s);
  CHECK(p.congestion_factor == defaults.congestion_factor);
  CHECK(options.count("pacing.start_spread_s") == 1);
}
