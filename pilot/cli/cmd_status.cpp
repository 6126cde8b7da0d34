// `pilot status`: what the pilot running in a work directory is doing, read from the status
// file its agent rewrites there (monitor/status_file.hpp). Exit 0 for a live or ended pilot,
// 3 for a stale status (the pilot died, or stopped rewriting it), 1 when there is none.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <thread>

#include "cli.hpp"
#include "core/error.hpp"
#include "monitor/status_file.hpp"
#include "monitor/status_text.hpp"

namespace pilot::cli {
namespace {

constexpr int kExitStale = 3;

struct StatusOptions {
  std::string workdir = ".";
  bool json = false;
  double watch_s = 0;
};

bool process_alive(int pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

// One look at the status file: printed, and the exit code it deserves.
int show_once(const StatusOptions& o) {
  auto file = monitor::status_file_path(o.workdir);
  auto status = monitor::read_status_file(file);
  if (!status)
    throw Error("no pilot status in " + o.workdir + ": " + file.filename().string() +
                " is written there by `pilot run --workdir " + o.workdir + "`");
  auto fresh = monitor::freshness(*status, monitor::epoch_now(), process_alive(status->pid));
  if (o.json) {
    nlohmann::json j = {{"status", monitor::to_json(*status)},
                        {"stale", fresh.stale},
                        {"age_s", fresh.age_s},
                        {"why", fresh.why}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << monitor::render_status(*status, fresh) << std::flush;
  }
  return fresh.stale ? kExitStale : 0;
}

int run_status(const StatusOptions& o) {
  if (o.watch_s <= 0) return show_once(o);
  bool tty = ::isatty(STDOUT_FILENO) == 1;
  // Until interrupted (SIGINT ends the process, which is all a watch needs).
  for (;;) {
    if (tty && !o.json) std::cout << "\033[H\033[2J";
    try {
      show_once(o);
    } catch (const Error& e) {
      // A pilot not started yet, or a status being replaced: say so and look again.
      std::cout << e.what() << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(o.watch_s));
  }
}

}  // namespace

void add_status_command(Cli& cli) {
  auto o = std::make_shared<StatusOptions>();
  auto* sub = cli.app.add_subcommand(
      "status", "What the pilot running in a work directory is doing (its status file)");
  sub->add_option("--workdir", o->workdir, "The pilot's work directory (pilot run --workdir)")
      ->capture_default_str();
  sub->add_flag("--json", o->json, "One JSON object: the status, and whether it is stale");
  sub->add_option("--watch", o->watch_s, "Show it again every S seconds until interrupted")
      ->check(CLI::PositiveNumber);
  sub->callback([&cli, o] { cli.run = [o] { return run_status(*o); }; });
}

}  // namespace pilot::cli
