// `pilot exec`: one payload under the job wrapper, from the command line.

#include <signal.h>
#include <stdlib.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/error.hpp"
#include "core/signals.hpp"
#include "exec_mc.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/supervisor.hpp"

namespace pilot::cli {
namespace {

namespace jw = pilot::jobwrapper;

struct ExecOptions {
  std::string workdir;
  double wall_limit = 0, cpu_limit = 0;
  std::string memory_limit = "0", memory_policy = "kill";
  double stalled_window = 1800, stalled_threshold = 0.05;
  std::string min_disk = "10M";
  double looping = 0, poll = 5, heartbeat = 1800;
  std::string stop_signal = "INT";
  double grace = 30, term_grace = 10;
  std::string log_cap = "512M";
  bool no_compress = false;
  std::size_t peek_lines = 20;
  std::string tracking = "auto";
  std::vector<std::string> env, unset;
  bool clean_env = false, pass_credentials = false, json = false;
  std::string job_id, stdout_name = "std.out", stderr_name = "std.err";
  std::vector<std::string> command;
  McExecOptions mc;
};

// "1048576", "512K", "100M", "2G", "1T" (binary multiples).
std::uint64_t parse_bytes(const std::string& text, const char* option) {
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  std::string_view suffix(p, static_cast<std::size_t>(text.data() + text.size() - p));
  int shift = -1;
  if (suffix.empty() || suffix == "B")
    shift = 0;
  else if (suffix == "K" || suffix == "KiB" || suffix == "k")
    shift = 10;
  else if (suffix == "M" || suffix == "MiB")
    shift = 20;
  else if (suffix == "G" || suffix == "GiB")
    shift = 30;
  else if (suffix == "T" || suffix == "TiB")
    shift = 40;
  if (ec != std::errc() || shift < 0 || (shift > 0 && n > (~0ull >> shift)))
    throw Error(std::string(option) + ": '" + text +
                "' is not a size in bytes (e.g. 2000000, 512K, 100M, 2G)");
  return n << shift;
}

jw::JobSpec make_spec(const ExecOptions& o) {
  jw::JobSpec s;
  s.argv = o.command;
  if (o.workdir.empty()) {
    std::string tmpl = (std::filesystem::current_path() / "pilot-exec.XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw_errno("cannot create a job directory in the current directory", errno);
    s.workdir = tmpl;
  } else {
    s.workdir = o.workdir;
  }
  s.job_id = o.job_id;
  s.env.inherit = !o.clean_env;
  s.env.pass_credentials = o.pass_credentials;
  s.env.unset = o.unset;
  for (const auto& kv : o.env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw Error("--env: '" + kv + "' is not KEY=VALUE");
    s.env.set[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto& w = s.watchdog;
  w.poll_s = o.poll;
  w.wall_limit_s = o.wall_limit;
  w.cpu_limit_s = o.cpu_limit;
  w.memory_limit_bytes = parse_bytes(o.memory_limit, "--memory-limit");
  w.memory_policy = o.memory_policy == "warn" ? jw::MemoryPolicy::warn : jw::MemoryPolicy::kill;
  w.stalled_window_s = o.stalled_window;
  w.stalled_threshold = o.stalled_threshold;
  w.min_free_disk_bytes = parse_bytes(o.min_disk, "--min-disk");
  w.looping_s = o.looping;
  s.stop_signal = parse_signal(o.stop_signal);
  if (s.stop_signal == SIGKILL || s.stop_signal == SIGSTOP)
    throw Error("--stop-signal: " + o.stop_signal +
                " cannot be handled by a payload; use a catchable signal");
  s.grace_s = o.grace;
  s.term_grace_s = o.term_grace;
  s.heartbeat_s = o.heartbeat;
  s.log_cap_bytes = parse_bytes(o.log_cap, "--log-cap");
  s.compress_logs = !o.no_compress;
  s.peek_lines = o.peek_lines;
  s.tracking = o.tracking == "cgroup" ? jw::Tracking::cgroup
               : o.tracking == "proc" ? jw::Tracking::proc
                                      : jw::Tracking::automatic;
  s.stdout_name = o.stdout_name;
  s.stderr_name = o.stderr_name;
  return s;
}

void print_human(const jw::JobRecord& r) {
  auto j = jw::to_json(r);
  std::cout << "outcome " << to_string(r.outcome) << "\nexit_code " << j["exit_code"].dump()
            << "\nsignal " << j["signal"].dump() << "\nreason " << j["reason"].dump();
  if (r.reason) std::cout << " (" << jw::reason_text(*r.reason) << ": " << r.reason_detail << ")";
  char buf[160];
  std::snprintf(buf, sizeof buf, "\nwall %.2f s\ncpu %.2f s\nmax_pss %.1f MiB\nmax_rss %.1f MiB\n",
                r.wall_seconds, r.cpu_seconds, static_cast<double>(r.max_pss_bytes) / 1048576.0,
                static_cast<double>(r.max_rss_bytes) / 1048576.0);
  std::cout << buf << "workdir " << r.workdir << '\n';
  if (!r.error.empty()) std::cout << "error " << r.error << '\n';
}

int run_exec(Cli& cli, const ExecOptions& o) {
  auto logger = cli.logger("exec");
  if (o.mc.recover)
    return recover_exec(o.workdir, jw::JobSpec{}.proc_root, o.grace, o.json, logger);
  auto spec = make_spec(o);
  McExec mc(o.mc, spec, logger);
  jw::Supervisor* sup_ptr = nullptr;
  ::signal(SIGPIPE, SIG_IGN);  // a closed stdout must not kill the wrapper mid-job

  process::asio::io_context ctx;
  // Installed before the payload starts, so a stop that arrives early is not lost. Handlers run
  // in the event loop (Asio's self-pipe), not in signal context.
  process::asio::signal_set stops(ctx, SIGTERM, SIGINT, SIGUSR1);
  jw::Hooks hooks;
  hooks.on_heartbeat = [logger](const jw::Heartbeat& h) {
    logger.info("heartbeat", {{"heartbeat", jw::to_json(h).dump()}});
  };
  hooks.on_finished = [&stops](const jw::JobRecord&) {
    boost::system::error_code ignored;
    stops.cancel(ignored);
  };
  mc.install(hooks, sup_ptr);
  jw::Supervisor sup(ctx, std::move(spec), std::move(hooks), logger);
  sup_ptr = &sup;
  mc.record_start(sup);
  std::function<void()> wait_signal = [&] {
    stops.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      sup.request_stop("pilot received " + signal_name(sig));
      wait_signal();
    });
  };
  wait_signal();
  sup.start();
  if (sup.finished()) stops.cancel();
  ctx.run();

  const auto& rec = sup.record();
  if (o.json) {
    auto out = jw::to_json(rec);
    mc.add_to_output(out, rec);
    std::cout << out.dump() << '\n';
  } else
    print_human(rec);
  std::cout.flush();
  return jw::shell_status(rec);
}

}  // namespace

void add_exec_command(Cli& cli) {
  auto* sub = cli.app.add_subcommand(
      "exec", "Run one payload under the job wrapper: pilot exec [options] -- CMD ARGS...");
  auto o = std::make_shared<ExecOptions>();
  sub->add_option("--workdir", o->workdir, "Job directory (default: a new pilot-exec.* here)");
  sub->add_option("--job-id", o->job_id, "Job identifier recorded in job.json");
  sub->add_option("--wall-limit", o->wall_limit, "Wall-clock limit in seconds (0: none)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--cpu-limit", o->cpu_limit,
                  "CPU-time limit of the whole tree in seconds (0: none)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--memory-limit", o->memory_limit,
                  "PSS limit of the tree in bytes (K/M/G suffixes; 0: none)");
  sub->add_option("--memory-policy", o->memory_policy, "What a memory excess does")
      ->check(CLI::IsMember({"warn", "kill"}));
  sub->add_option("--stalled-window", o->stalled_window, "Stalled check window in seconds (0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--stalled-threshold", o->stalled_threshold,
                  "Stalled when CPU/wall is below this fraction")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--min-disk", o->min_disk,
                  "Minimum free disk in the job directory (bytes, K/M/G; 0: off)");
  sub->add_option(
         "--looping", o->looping,
         "Looping when no file in the job directory changes for this many seconds (0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--poll", o->poll, "Sampling period in seconds")->check(CLI::PositiveNumber);
  sub->add_option("--heartbeat", o->heartbeat,
                  "Log a heartbeat (DIRAC keys) every N seconds (0: off)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--stop-signal", o->stop_signal,
                  "Signal that asks the payload to stop (USR1, SIGUSR1 or a number)");
  sub->add_option("--grace", o->grace,
                  "Seconds after the stop signal before SIGTERM to the whole tree")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--term-grace", o->term_grace, "Seconds after SIGTERM before SIGKILL")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--log-cap", o->log_cap,
                  "Cap of each of stdout/stderr in bytes (head and tail kept; 0: none)");
  sub->add_flag("--no-compress", o->no_compress, "Leave stdout/stderr uncompressed");
  sub->add_option("--peek-lines", o->peek_lines, "Lines of stdout in heartbeats");
  sub->add_option("--tracking", o->tracking, "Process-tree tracking")
      ->check(CLI::IsMember({"auto", "cgroup", "proc"}));
  sub->add_option("--env", o->env, "Set KEY=VALUE in the payload's environment (repeatable)");
  sub->add_option("--unset", o->unset, "Remove KEY from the payload's environment (repeatable)");
  sub->add_flag("--clean-env", o->clean_env, "Do not inherit the pilot's environment");
  sub->add_flag("--pass-credentials", o->pass_credentials,
                "Pass X509_USER_PROXY, BEARER_TOKEN, ... to the payload");
  sub->add_option("--stdout", o->stdout_name, "File name of stdout in the job directory");
  sub->add_option("--stderr", o->stderr_name, "File name of stderr in the job directory");
  sub->add_flag("--json", o->json, "Print the final job record as one JSON object");
  add_mc_options(sub, o->mc);
  sub->add_option("command", o->command, "The payload and its arguments, after --");
  sub->callback([&cli, o] {
    if (!o->mc.recover && o->command.empty())
      throw CLI::RequiredError("the payload to run (pilot exec [options] -- CMD ARGS...)");
    cli.run = [&cli, o] { return run_exec(cli, *o); };
  });
}

}  // namespace pilot::cli
