#pragma once
// pilot-farmsim's command line: the scenario to run and where to write its report and plot. A
// function of the arguments alone, so it is tested without running the program.

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "farmsim/scenario.hpp"

namespace pilot::farmsim {

// A command line that cannot run; what() names the flag ("--job-s: expected MIN-MAX, got '10'").
struct UsageError : Error {
  using Error::Error;
};

struct CliOptions {
  Scenario scenario;
  std::optional<std::string> json_path;  // nullopt: no JSON report
  std::optional<std::string> png_path;   // nullopt: no plot
  bool help = false;
};

// `args` without the program's name; `--flag value` or `--flag=value`. --scenario is applied
// first and every other flag over it, in order (the last of a repeated flag wins). Throws
// UsageError for an unknown flag, a missing or malformed value, or a scenario validate() refuses.
CliOptions parse_cli(const std::vector<std::string>& args);

// Every flag with its value and meaning.
std::string usage_text();

}  // namespace pilot::farmsim
