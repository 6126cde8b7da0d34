#include "exec_mc.hpp"

#include <iostream>

#include "core/error.hpp"
#include "mjf/batch.hpp"
#include "mjf/observe.hpp"

extern char** environ;

namespace pilot::cli {
namespace jw = pilot::jobwrapper;

void add_mc_options(CLI::App* sub, McExecOptions& o) {
  sub->add_option("--events", o.events, "Interruptible MC: the number of events to produce")
      ->check(CLI::PositiveNumber);
  auto* cpue =
      sub->add_option(
             "--cpue", o.cpue,
             "Interruptible MC: HS06 s per event; size the number of events from the time left")
          ->check(CLI::PositiveNumber);
  sub->add_option("--max-events", o.max_events,
                  "Interruptible MC: cap on the sized number of events")
      ->check(CLI::PositiveNumber)
      ->needs(cpue);
  sub->add_option("--cpu-power", o.cpu_power, "HS06 per processor for sizing")
      ->check(CLI::PositiveNumber);
  sub->add_option("--time-left", o.time_left,
                  "Seconds the slot has left: sizes the job and stops it gracefully in time")
      ->check(CLI::PositiveNumber);
  sub->add_option(
         "--watch-period", o.watch_period,
         "Interruptible MC: seconds between re-checks of MJF shutdown times and batch limits")
      ->check(CLI::PositiveNumber);
  sub->add_option("--summary-file", o.summary_file,
                  "The payload's Gaudi XML summary (default: summary*.xml)");
  sub->add_flag("--recover", o.recover,
                "Finish and report the job a lost pilot left in --workdir, then exit");
}

McExec::McExec(const McExecOptions& o, jw::JobSpec& spec, log::Logger logger)
    : logger_(std::move(logger)) {
  // Without MC options the watchdog's limits apply as they are (a wall limit kills); only MC
  // payloads are stopped gracefully ahead of a deadline.
  if (!o.enabled()) return;
  watch_period_ = o.watch_period;
  // The slot as MJF and the batch system describe it: its end (announced shutdowns included)
  // stops the payload in time, and it sizes the job when no time is given.
  mjf::ObserveSettings os;
  os.env = mjf::environment_of(environ);
  os.sources = mjf::sources_from_environment(os.env, logger_);
  mjf::Config mc;
  if (o.cpu_power > 0) mc.cpu_power_hs06 = o.cpu_power;
  mc.started_at = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  watcher_ = std::make_unique<mjf::Watcher>(os, mc, logger_.child("mjf"));
  budget_ = watcher_->budget();
  auto in_seconds = [now = std::chrono::system_clock::now()](double s, const char* source) {
    return mc::StopBy{now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                std::chrono::duration<double>(s)),
                      source};
  };
  if (o.time_left > 0)
    fixed_stop_by_ = in_seconds(o.time_left, "time_left");
  else if (spec.watchdog.wall_limit_s > 0)
    fixed_stop_by_ = in_seconds(spec.watchdog.wall_limit_s, "wall_limit");
  mc::McOptions mo;
  mo.summary_file = o.summary_file;
  if (o.events > 0) {
    mo.events = o.events;
  } else {
    mc::SizingInputs in;
    if (o.time_left > 0) {
      in.cpu_time_left_s = o.time_left;
      in.cpu_time_left_source = "--time-left";
    } else if (spec.watchdog.wall_limit_s > 0) {
      in.cpu_time_left_s = spec.watchdog.wall_limit_s;
      in.cpu_time_left_source = "--wall-limit";
    } else if (budget_->wall_seconds_left) {
      in.cpu_time_left_s = static_cast<double>(*budget_->wall_seconds_left);
      in.cpu_time_left_source =
          budget_->limited_by.empty() ? "budget" : mjf::limit_names(budget_->limited_by);
    } else {
      throw Error(
          "--cpue needs the time left: --time-left, --wall-limit, MJF or a batch system that knows "
          "it");
    }
    if (!budget_->cpu_power_hs06)
      throw Error("--cpue needs the CPU power per processor: --cpu-power or MJF hs06");
    in.cpu_power_hs06 = *budget_->cpu_power_hs06;
    in.cpu_power_source = o.cpu_power > 0 ? "--cpu-power" : budget_->cpu_power_source;
    in.cpue = o.cpue;
    if (o.max_events > 0) in.max_events = o.max_events;
    mo.sizing = in;
  }
  run_.emplace(spec, mo, logger_);
}

void McExec::record_start(jw::Supervisor& sup) {
  if (run_) run_->record_start(sup.record());
}

std::optional<mc::StopBy> McExec::current_stop_by() {
  auto d = fixed_stop_by_;
  std::lock_guard lock(budget_mutex_);
  if (auto slot = budget_ ? mc::slot_end(*budget_) : std::nullopt; slot && (!d || slot->at < d->at))
    d = slot;
  return d;
}

void McExec::install(jw::Hooks& hooks, jw::Supervisor*& sup) {
  if (!run_) return;
  if (watcher_) {
    watcher_thread_ = std::make_unique<mjf::WatcherThread>(
        *watcher_, std::chrono::milliseconds(static_cast<long>(watch_period_ * 1000)),
        [this](const std::vector<mjf::Change>&, const mjf::ResourceBudget& b) {
          std::lock_guard lock(budget_mutex_);
          budget_ = b;
        });
  }
  run_->install(hooks, [this] { return current_stop_by(); });
  auto prev_finished = hooks.on_finished;
  hooks.on_finished = [this, prev_finished, &sup](const jw::JobRecord& rec) {
    watcher_thread_.reset();
    if (sup) {
      auto r = run_->finish(*sup);
      logger_.info("MC result",
                   {{"events", r.events}, {"source", r.events_source}, {"detail", r.detail}});
    }
    if (prev_finished) prev_finished(rec);
  };
}

namespace {

// The fields `pilot exec --json` adds for an MC job, from the result kept in its record.
void add_result(nlohmann::ordered_json& out, const jw::JobRecord& rec) {
  auto r = mc::to_json(mc::stored_result(rec).value_or(mc::McResult{}));
  for (const char* key : {"events", "events_source", "interrupted", "outputs"}) out[key] = r[key];
}

}  // namespace

void McExec::add_to_output(nlohmann::ordered_json& out, const jw::JobRecord& rec) const {
  if (!run_) return;
  add_result(out, rec);
  out["events_requested"] = run_->job().events_requested;
}

int recover_exec(const std::string& workdir, const std::filesystem::path& proc_root, double grace_s,
                 bool json, log::Logger logger) {
  if (workdir.empty()) throw Error("--recover needs --workdir");
  auto rec = mc::recover_job(workdir, grace_s, proc_root, logger);
  if (!rec)
    throw Error("no unfinished job in " + workdir + " (no job.json, or the job has finished)");
  nlohmann::ordered_json out = jw::to_json(*rec);
  if (mc::stored_result(*rec)) add_result(out, *rec);
  if (json) {
    std::cout << out.dump() << '\n';
  } else {
    std::cout << "recovered job " << rec->job_id << " in " << workdir << ": "
              << (out.contains("events") ? out["events"].dump() : "unknown") << " events\n";
  }
  return 0;
}

}  // namespace pilot::cli
