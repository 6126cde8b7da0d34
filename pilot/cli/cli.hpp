#pragma once
// The command line: global options, and the registration function of each subcommand. A
// subcommand's callback stores in `run` what to do once parsing has succeeded; main() runs it.
// Exit codes: 0 success, 1 a command failed (message on stderr), 2 bad usage.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/log.hpp"

namespace pilot::cli {

inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string log_format = "human";
  std::string log_level = "info";
  std::string log_file;
};

struct Cli {
  Cli();
  CLI::App app;
  GlobalOptions global;
  std::function<int()> run;

  // A logger for `component` on the sink the global options describe (made on first use).
  log::Logger logger(std::string component);

 private:
  std::shared_ptr<log::Sink> sink_;
};

void add_version_command(Cli& cli);
void add_userdata_command(Cli& cli);
void add_exec_command(Cli& cli);
void add_features_command(Cli& cli);
void add_queue_command(Cli& cli);
void add_platform_command(Cli& cli);
void add_run_command(Cli& cli);
void add_dirac_command(Cli& cli);
void add_status_command(Cli& cli);

}  // namespace pilot::cli
