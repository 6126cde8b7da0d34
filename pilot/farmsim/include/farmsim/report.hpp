#pragma once
// What a run reports: the parameters and each policy's summary, as JSON (the schema other tools
// read: {"parameters", "capacity_per_s", "slots", "fill_bound_s", "policies": {name: SUMMARY}},
// only the policies run, null for a figure that does not exist) and as text for a terminal.
// Only write_json throws.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "farmsim/scenario.hpp"
#include "farmsim/summary.hpp"

namespace pilot::farmsim {

nlohmann::ordered_json parameters_json(const Scenario& s);
nlohmann::ordered_json summary_json(const Summary& summary);
nlohmann::ordered_json report_json(const Scenario& s, const std::vector<PolicyRun>& runs);
// Throws pilot::Error naming `path` if it cannot be written.
void write_json(const std::string& path, const nlohmann::ordered_json& report);

// parameters_json as "name: value" lines, nested names joined by '.'.
std::string parameters_text(const Scenario& s);
// The policies' figures side by side, one row per figure.
std::string summary_table(const Scenario& s, const std::vector<PolicyRun>& runs);

}  // namespace pilot::farmsim
