#pragma once
// Runs the built `pilot` binary the way a user or a batch system would, for tests that check the
// command line end to end.

#ifndef PILOT_RUNS_PILOT
// Tests that run the binary are marked so that CMake builds it before them.
#error "runs the pilot binary: mark the target RUNS_PILOT (cmake/PilotTargets.cmake)"
#endif

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace pilot::test {

struct PilotRun {
  int exit_code = -1;  // -1 when killed by a signal or timed out
  std::string out;
  std::string err;
};

std::string pilot_binary();

PilotRun run_pilot(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace pilot::test
