#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/jdl.hpp"
#include "jobs/local_queue.hpp"

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

void print_table(const std::vector<jobs::QueueEntry>& entries) {
  std::printf("%-28s %-8s %-40s %-28s %s\n", "ID", "STATE", "STATUS", "SUBMITTED", "EXECUTABLE");
  for (const auto& e : entries) {
    std::string status = field(e.status, "status");
    if (auto minor = field(e.status, "minor_status"); !minor.empty()) status += " / " + minor;
    std::printf("%-28s %-8s %-40s %-28s %s\n", e.id.c_str(), e.state.c_str(), status.c_str(),
                field(e.status, "submitted").c_str(), field(e.status, "executable").c_str());
  }
}

}  // namespace

void add_queue_command(Cli& cli) {
  auto* queue = cli.app.add_subcommand(
      "queue",
      "The local job queue: submit, list, show, kill and recover jobs in a queue directory");
  queue->require_subcommand(1);
  auto o = std::make_shared<QueueOptions>();
  auto add_queue_option = [o](CLI::App* sub) {
    sub->add_option("--queue", o->queue, "Queue directory")->required()->envname("PILOT_QUEUE");
  };

  auto* submit =
      queue->add_subcommand("submit", "Validate a JDL file, queue it and print the job id");
  add_queue_option(submit);
  submit->add_option("file", o->file, "JDL file ('-': standard input)")->required();
  submit->callback([&cli, o] {
    cli.run = [o] {
      // InputSandbox files are relative to the JDL file's directory (stdin: the current one).
      std::filesystem::path base = o->file == "-"
                                       ? std::filesystem::current_path()
                                       : std::filesystem::absolute(o->file).parent_path();
      std::cout << jobs::submit_job(o->queue, read_jdl(o->file),
                                    o->file == "-" ? "standard input" : o->file, base)
                << '\n';
      return 0;
    };
  });

  auto* list =
      queue->add_subcommand("list", "List the jobs (id, state, status, submit time, executable)");
  add_queue_option(list);
  list->add_flag("--json", o->json, "A JSON array of the jobs' status records");
  list->callback([&cli, o] {
    cli.run = [o] {
      auto entries = jobs::list_jobs(o->queue);
      if (!o->json) {
        print_table(entries);
        return 0;
      }
      nlohmann::json out = nlohmann::json::array();
      for (auto& e : entries) {
        e.status["state"] = e.state;
        out.push_back(e.status);
      }
      std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      return 0;
    };
  });

  auto* show = queue->add_subcommand("show", "Print a job's record as JSON, or one of its logs");
  add_queue_option(show);
  show->add_option("id", o->id, "Job id")->required();
  show->add_option("--log", o->log, "Print this log of a finished job instead (e.g. std.out)");
  show->callback([&cli, o] {
    cli.run = [o] {
      if (!o->log.empty()) {
        if (!jobs::write_job_log(o->queue, o->id, o->log, std::cout))
          throw Error("job " + o->id + " has no log named " + o->log);
        return 0;
      }
      auto record = jobs::show_job(o->queue, o->id);
      if (!record) throw Error("no job " + o->id + " in " + o->queue);
      // A JDL written into the queue behind `pilot queue submit` may hold bytes that are not
      // UTF-8: shown as U+FFFD rather than failing the whole record.
      std::cout << record->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      return 0;
    };
  });

  auto* kill = queue->add_subcommand(
      "kill", "Stop a job: a pending one at once, a running one at its next heartbeat");
  add_queue_option(kill);
  kill->add_option("id", o->id, "Job id")->required();
  kill->callback([&cli, o] {
    cli.run = [o] {
      auto was = jobs::kill_job(o->queue, o->id);
      if (was == "pending") std::cout << o->id << ": killed (it was pending)\n";
      if (was == "running")
        std::cout << o->id << ": kill requested; its pilot stops it at the next heartbeat\n";
      if (was == "done") std::cout << o->id << ": already finished\n";
      return 0;
    };
  });

  auto* recover = queue->add_subcommand(
      "recover",
      "Requeue jobs whose pilot died (checked directly on this host; elsewhere with --older-than)");
  add_queue_option(recover);
  recover
      ->add_option("--older-than", o->older_than,
                   "Also requeue jobs of pilots on other hosts silent for this many seconds")
      ->check(CLI::NonNegativeNumber);
  recover->add_flag("--dry-run", o->dry_run, "Only report what would be done");
  recover
      ->add_option("--max-reschedules", o->max_reschedules,
                   "Fail a job instead of requeuing it after this many reschedules")
      ->check(CLI::NonNegativeNumber);
  recover->add_flag("--json", o->json, "A JSON array of the actions");
  recover->callback([&cli, o] {
    cli.run = [o] {
      jobs::RecoverOptions ro;
      if (o->older_than >= 0) ro.older_than = std::chrono::seconds(o->older_than);
      ro.dry_run = o->dry_run;
      ro.max_reschedules = o->max_reschedules;
      auto actions = jobs::recover_jobs(o->queue, ro);
      if (o->json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& a : actions)
          out.push_back(
              {{"id", a.id}, {"owner", a.owner}, {"verdict", a.verdict}, {"reason", a.reason}});
        std::cout << out.dump(2) << '\n';
      } else {
        if (actions.empty()) std::cout << "no running jobs\n";
        for (const auto& a : actions)
          std::cout << a.id << ' ' << a.verdict << " (owner " << (a.owner.empty() ? "?" : a.owner)
                    << ": " << a.reason << ")\n";
      }
      return 0;
    };
  });
}

}  // namespace pilot::cli
