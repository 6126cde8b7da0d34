#pragma once
// The built `pilot` binary running in the background, for tests that signal it mid-run (reclaim,
// SIGKILL and recovery). stdout and stderr go to files; the process is killed if the test ends
// while it still runs.

#ifndef PILOT_RUNS_PILOT
// Tests that run the binary are marked so that CMake builds it before them.
#error "runs the pilot binary: mark the target RUNS_PILOT (cmake/PilotTargets.cmake)"
#endif

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pilot::test {

class PilotProcess {
 public:
  // `wrapper`, when given, is a command that runs the pilot with the rest of its arguments (a
  // changed environment the pilot cannot tell from a real one: tests/payloads/no_pidfd.cpp).
  PilotProcess(const std::vector<std::string>& args, const std::filesystem::path& output_dir,
               const std::map<std::string, std::string>& env = {},
               const std::vector<std::string>& wrapper = {});
  ~PilotProcess();
  PilotProcess(const PilotProcess&) = delete;
  PilotProcess& operator=(const PilotProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // The exit status as a shell reports it (128 + signal when killed); nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::filesystem::path out_, err_;
};

// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace pilot::test
