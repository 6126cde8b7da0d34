#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "agent/job_dirs.hpp"
#include "cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/jdl.hpp"
#include "jobs/local_queue.hpp"
#include "monitor/status_file.hpp"
#include "monitor/status_text.hpp"
#include "subcommand_table.hpp"

namespace pilot::cli {
namespace {

struct QueueOptions {
  std::string queue;
  std::string file;
  std::string id;
  std::string log;
  bool json = false;
  long older_than = -1;
  bool dry_run = false;
  int max_reschedules = 3;
};

std::string read_jdl(const std::string& file) {
  auto limit = jobs::JdlLimits{}.max_bytes;
  if (file == "-") {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (text.size() > limit)
      throw Error("standard input: job description larger than " + std::to_string(limit) +
                  " bytes");
    return text;
  }
  auto text = read_file(file, limit);
  if (!text) throw Error("no such file: " + file);
  return *text;
}

std::string field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// A running job as the pilot running it sees it (CPU, wall, memory, MC progress), from that
// pilot's status file: its work directory is in the job's claim. nullopt when the status is not
// readable from here (a pilot on another node, one that never wrote it) or no longer has the job.
std::optional<monitor::JobView> running_job_view(const jobs::QueueEntry& e) {
  if (e.state != "running") return std::nullopt;
  auto owner = e.status.find("owner");
  if (owner == e.status.end() || !owner->is_object()) return std::nullopt;
  auto workdir = owner->value("workdir", std::string());
  if (workdir.empty()) return std::nullopt;
  try {
    auto status = monitor::read_status_file(monitor::status_file_path(workdir));
    if (status)
      for (const auto& job : status->jobs)
        if (job.id == e.id) return job;
  } catch (const Error&) {
    // A status file being replaced, or unreadable by this user: the list still lists.
  }
  return std::nullopt;
}

void print_progress(const std::vector<jobs::QueueEntry>& entries) {
  std::vector<monitor::JobView> running;
  for (const auto& e : entries)
    if (auto v = running_job_view(e)) running.push_back(*v);
  if (running.empty()) return;
  int width = 14;
  for (const auto& v : running) width = std::max(width, static_cast<int>(v.id.size()));
  std::printf("\nrunning, as their pilots see them:\n%s\n",
              monitor::job_table_header(width).c_str());
  for (const auto& v : running) std::printf("%s\n", monitor::job_row(v, width).c_str());
}

void print_jobs_table(const std::vector<jobs::QueueEntry>& entries) {
  std::printf("%-28s %-8s %-40s %-28s %s\n", "ID", "STATE", "STATUS", "SUBMITTED", "EXECUTABLE");
  for (const auto& e : entries) {
    std::string status = field(e.status, "status");
    if (auto minor = field(e.status, "minor_status"); !minor.empty()) status += " / " + minor;
    std::printf("%-28s %-8s %-40s %-28s %s\n", e.id.c_str(), e.state.c_str(), status.c_str(),
                field(e.status, "submitted").c_str(), field(e.status, "executable").c_str());
  }
  print_progress(entries);
}

void submit_options(CLI::App* s, QueueOptions& o) {
  s->add_option("file", o.file, "JDL file ('-': standard input)")->required();
}

int run_submit(const QueueOptions& o) {
  // InputSandbox files are relative to the JDL file's directory (stdin: the current one).
  std::filesystem::path base = o.file == "-" ? std::filesystem::current_path()
                                             : std::filesystem::absolute(o.file).parent_path();
  std::cout << jobs::submit_job(o.queue, read_jdl(o.file),
                                o.file == "-" ? "standard input" : o.file, base)
            << '\n';
  return 0;
}

void list_options(CLI::App* s, QueueOptions& o) {
  s->add_flag("--json", o.json, "A JSON array of the jobs' status records");
}

void print_jobs_json(const std::vector<jobs::QueueEntry>& entries) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : entries) {
    nlohmann::json record = e.status;
    record["state"] = e.state;
    if (auto v = running_job_view(e)) record["progress"] = monitor::to_json(*v);
    out.push_back(std::move(record));
  }
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

int run_list(const QueueOptions& o) {
  auto entries = jobs::list_jobs(o.queue);
  if (o.json) {
    print_jobs_json(entries);
  } else {
    print_jobs_table(entries);
  }
  return 0;
}

void show_options(CLI::App* s, QueueOptions& o) {
  s->add_option("id", o.id, "Job id")->required();
  s->add_option("--log", o.log, "Print this log of a finished job instead (e.g. std.out)");
}

int run_show(const QueueOptions& o) {
  if (!o.log.empty()) {
    if (!jobs::write_job_log(o.queue, o.id, o.log, std::cout))
      throw Error("job " + o.id + " has no log named " + o.log);
    return 0;
  }
  auto record = jobs::show_job(o.queue, o.id);
  if (!record) throw Error("no job " + o.id + " in " + o.queue);
  // A JDL written into the queue behind `pilot queue submit` may hold bytes that are not
  // UTF-8: shown as U+FFFD rather than failing the whole record.
  std::cout << record->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return 0;
}

void kill_options(CLI::App* s, QueueOptions& o) {
  s->add_option("id", o.id, "Job id")->required();
}

int run_kill(const QueueOptions& o) {
  auto was = jobs::kill_job(o.queue, o.id);
  if (was == "pending") std::cout << o.id << ": killed (it was pending)\n";
  if (was == "running")
    std::cout << o.id << ": kill requested; its pilot stops it at the next heartbeat\n";
  if (was == "done") std::cout << o.id << ": already finished\n";
  return 0;
}

void recover_options(CLI::App* s, QueueOptions& o) {
  s->add_option("--older-than", o.older_than,
                "Also requeue jobs of pilots on other hosts silent for this many seconds")
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--dry-run", o.dry_run, "Only report what would be done");
  s->add_option("--max-reschedules", o.max_reschedules,
                "Fail a job instead of requeuing it after this many reschedules")
      ->check(CLI::NonNegativeNumber);
  s->add_flag("--json", o.json, "A JSON array of the actions");
}

void print_actions_json(const std::vector<jobs::RecoverAction>& actions) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : actions)
    out.push_back({{"id", a.id}, {"owner", a.owner}, {"verdict", a.verdict}, {"reason", a.reason}});
  std::cout << out.dump(2) << '\n';
}

void print_actions_text(const std::vector<jobs::RecoverAction>& actions) {
  if (actions.empty()) std::cout << "no running jobs\n";
  for (const auto& a : actions)
    std::cout << a.id << ' ' << a.verdict << " (owner " << (a.owner.empty() ? "?" : a.owner) << ": "
              << a.reason << ")\n";
}

int run_recover(const QueueOptions& o) {
  jobs::RecoverOptions ro;
  if (o.older_than >= 0) ro.older_than = std::chrono::seconds(o.older_than);
  ro.dry_run = o.dry_run;
  ro.max_reschedules = o.max_reschedules;
  ro.held_by_job_dir = [](const std::filesystem::path& workdir, const std::string& id) {
    return agent::lost_job_held(workdir, id, "/proc");
  };
  auto actions = jobs::recover_jobs(o.queue, ro);
  if (o.json) {
    print_actions_json(actions);
  } else {
    print_actions_text(actions);
  }
  return 0;
}

void add_queue_option(CLI::App* sub, QueueOptions& o) {
  sub->add_option("--queue", o.queue, "Queue directory")->required()->envname("PILOT_QUEUE");
}

constexpr SubcommandRow<QueueOptions> kSubcommands[] = {
    {"submit", "Validate a JDL file, queue it and print the job id", submit_options, run_submit},
    {"list", "List the jobs (id, state, status, submit time, executable)", list_options, run_list},
    {"show", "Print a job's record as JSON, or one of its logs", show_options, run_show},
    {"kill", "Stop a job: a pending one at once, a running one at its next heartbeat", kill_options,
     run_kill},
    {"recover",
     "Requeue jobs whose pilot died (checked directly on this host; elsewhere with --older-than)",
     recover_options, run_recover},
};

}  // namespace

void add_queue_command(Cli& cli) {
  auto* queue = cli.app.add_subcommand(
      "queue",
      "The local job queue: submit, list, show, kill and recover jobs in a queue directory");
  queue->require_subcommand(1);
  auto o = std::make_shared<QueueOptions>();
  add_subcommand_rows(cli, queue, kSubcommands, o, add_queue_option);
}

}  // namespace pilot::cli
