#include "exec_mc.hpp"

#include <iostream>

#include "core/error.hpp"

namespace pilot::cli {
namespace jw = pilot::jobwrapper;

void add_mc_options(CLI::App* sub, McExecOptions& o) {
  sub->add_option("--events", o.events, "Interruptible MC: the number of events to produce")->check(CLI::PositiveNumber);
  auto* cpue = sub->add_option("--cpue", o.cpue, "Interruptible MC: HS06 s per event; size the number of events from the time left")
                   ->check(CLI::PositiveNumber);
  sub->add_option("--max-events", o.max_events, "Interruptible MC: cap on the sized number of events")->check(CLI::PositiveNumber)->needs(cpue);
  sub->add_option("--cpu-power", o.cpu_power, "HS06 per processor for sizing")->check(CLI::PositiveNumber);
  sub->add_option("--time-left", o.time_left, "Seconds the slot has left: sizes the job and stops it gracefully in time")
      ->check(CLI::PositiveNumber);
  sub->add_option("--summary-file", o.summary_file, "The payload's Gaudi XML summary (default: summary*.xml)");
  sub->add_flag("--recover", o.recover, "Finish and report the job a lost pilot left in --workdir, then exit");
}

McExec::McExec(const McExecOptions& o, jw::JobSpec& spec, log::Logger logger)
    : stop_signal_(spec.stop_signal), summary_file_(o.summary_file), logger_(std::move(logger)) {
  auto now = std::chrono::system_clock::now();
  if (o.time_left > 0)
    deadline_ = mc::Deadline{now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       std::chrono::duration<double>(o.time_left)),
                             "time_left"};
  else if (spec.watchdog.wall_limit_s > 0)
    deadline_ = mc::Deadline{now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       std::chrono::duration<double>(spec.watchdog.wall_limit_s)),
                             "wall_limit"};
  if (!o.enabled()) return;
  mc::McOptions mo;
  mo.summary_file = o.summary_file;
  if (o.events > 0) {
    mo.events = o.events;
  } else {
    if (o.time_left <= 0 && spec.watchdog.wall_limit_s <= 0)
      throw Error("--cpue needs the time left (--time-left or --wall-limit) to size the job");
    if (o.cpu_power <= 0) throw Error("--cpue needs the CPU power per processor (--cpu-power)");
    mc::SizingInputs in;
    in.cpu_time_left_s = o.time_left > 0 ? o.time_left : spec.watchdog.wall_limit_s;
    in.cpu_time_left_source = o.time_left > 0 ? "--time-left" : "--wall-limit";
    in.cpu_power_hs06 = o.cpu_power;
    in.cpu_power_source = "--cpu-power";
    in.cpue = o.cpue;
    if (o.max_events > 0) in.max_events = o.max_events;
    mo.sizing = in;
  }
  job_ = mc::prepare_mc(spec, mo);
}

void McExec::record_start(jw::Supervisor& sup) {
  if (!job_) return;
  mc::record_mc(sup.record(), *job_);
}

void McExec::install(jw::Hooks& hooks, jw::Supervisor*& sup, double poll_s, double grace_s) {
  auto prev_poll = hooks.on_poll;
  hooks.on_poll = [this, prev_poll, poll_s, grace_s](jw::Supervisor& s, const jw::TreeUsage& u) {
    if (job_) mc::mirror_checkpoint(s, *job_, logger_);
    if (deadline_ && mc::deadline_reached(*deadline_, grace_s, poll_s))
      s.request_stop(deadline_->source + " approaching: stopping at an event boundary");
    if (prev_poll) prev_poll(s, u);
  };
  auto prev_finished = hooks.on_finished;
  hooks.on_finished = [this, prev_finished, &sup](const jw::JobRecord& rec) {
    if (job_ && sup) {
      mc::mirror_checkpoint(*sup, *job_, logger_);
      auto r = mc::collect_mc(rec, stop_signal_, summary_file_);
      sup->record().extra["mc"]["result"] = mc::to_json(r);
      sup->save_record();
      logger_.info("MC result", {{"events", r.events.value_or(-1)}, {"source", r.events_source}, {"detail", r.detail}});
    }
    if (prev_finished) prev_finished(rec);
  };
}

void McExec::add_to_output(nlohmann::ordered_json& out, const jw::JobRecord& rec) const {
  if (!job_) return;
  nlohmann::json r = rec.extra.contains("mc") && rec.extra["mc"].contains("result")
                         ? nlohmann::json(rec.extra["mc"]["result"])
                         : nlohmann::json::object();
  out["events"] = r.value("events", nlohmann::json());
  out["events_source"] = r.value("events_source", nlohmann::json());
  out["interrupted"] = r.value("interrupted", false);
  out["outputs"] = r.value("outputs", nlohmann::json::array());
  out["events_requested"] = job_->events_requested;
}

int recover_exec(const std::string& workdir, double grace_s, bool json, log::Logger logger) {
  if (workdir.empty()) throw Error("--recover needs --workdir");
  auto rec = mc::recover_job(workdir, grace_s, "/proc", logger);
  if (!rec) throw Error("no unfinished job in " + workdir + " (no job.json, or the job has finished)");
  nlohmann::ordered_json out = jw::to_json(*rec);
  if (rec->extra.contains("mc") && rec->extra["mc"].contains("result")) {
    nlohmann::json r = rec->extra["mc"]["result"];
    out["events"] = r["events"];
    out["events_source"] = r["events_source"];
    out["interrupted"] = r["interrupted"];
    out["outputs"] = r["outputs"];
  }
  if (json) {
    std::cout << out.dump() << '\n';
  } else {
    std::cout << "recovered job " << rec->job_id << " in " << workdir << ": "
              << (out.contains("events") ? out["events"].dump() : "unknown") << " events\n";
  }
  return 0;
}

}  // namespace pilot::cli
