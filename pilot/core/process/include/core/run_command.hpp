#pragma once
// Runs a short helper command (a compiler's `-v`, `squeue`, `scontrol`, ...) with a deadline and
// collects what it printed. For supervising payloads see jobwrapper/.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pilot {

struct CommandOptions {
  std::chrono::milliseconds timeout{10000};
  bool merge_stderr = false;  // stderr into `out`, like `2>&1`
  std::map<std::string, std::string>
      set_env;                       // added to (or replacing in) the inherited environment
  bool inherit_env = true;           // false: the command's environment is set_env alone
  std::size_t max_output = 1 << 20;  // keep at most this much of each stream
};

struct CommandResult {
  std::optional<int> exit_code;  // nullopt: killed by a signal (then `signal` is set)
  int signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  bool ok() const { return exit_code && *exit_code == 0 && !timed_out; }
};

// `argv[0]` is looked up in PATH unless it holds a '/'. Returns nullopt when the executable does
// not exist; throws pilot::Error when it exists but cannot be started. On timeout the command's
// process group gets SIGKILL and `timed_out` is set.
std::optional<CommandResult> run_command(const std::vector<std::string>& argv,
                                         const CommandOptions& options = {});

// A one-line description for logs and error messages: "`squeue -h` timed out after 10 s".
std::string describe(const std::vector<std::string>& argv, const CommandResult& result);

}  // namespace pilot
