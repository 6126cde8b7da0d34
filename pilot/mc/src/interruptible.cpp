#include "mc/interruptible.hpp"

#include <signal.h>

#include <limits>
#include <thread>

#include "core/error.hpp"
#include "core/json_number.hpp"
#include "core/signals.hpp"
#include "jobwrapper/lost_job.hpp"
#include "mc/xml_summary.hpp"

namespace pilot::mc {
namespace jw = pilot::jobwrapper;

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
}

std::string strip_pfn(const std::string& name) {
  return name.starts_with("PFN:") ? name.substr(4) : name;
}

std::filesystem::path checkpoint_path(const std::filesystem::path& workdir,
                                      const nlohmann::json& mc) {
  std::filesystem::path p = mc.value("checkpoint_file", std::string(kCheckpointName));
  return p.is_absolute() ? p : workdir / p;
}

// What the job directory tells about the events, preferring a finalised summary.
McResult from_files(const std::filesystem::path& workdir, const std::string& summary_file,
                    const std::optional<Checkpoint>& checkpoint) {
  McResult r;
  std::optional<XmlSummary> summary;
  if (auto path = find_xml_summary(workdir, summary_file)) {
    try {
      summary = read_xml_summary(*path);
    } catch (const Error&) {
      summary.reset();  // a summary cut off mid-write is not evidence; the checkpoint is
    }
  }
  if (summary && summary->finalised()) {
    r.events = summary->events();
    r.events_source = "summary";
    r.finalised = true;
    for (const auto& f : summary->outputs) r.outputs.push_back(strip_pfn(f.name));
  } else if (checkpoint) {
    r.events = checkpoint->events;
    r.events_source = "checkpoint";
    r.outputs = checkpoint->outputs;
  }
  return r;
}

std::optional<Checkpoint> read_checkpoint_quietly(const std::filesystem::path& file) {
  try {
    return read_checkpoint(file);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

McJob prepare_mc(jw::JobSpec& spec, const McOptions& o) {
  McJob job;
  if (o.events) {
    if (*o.events < 1)
      throw Error("the number of events must be at least 1, got " + std::to_string(*o.events));
    job.events_requested = *o.events;
  } else if (o.sizing) {
    auto s = size_events(*o.sizing);
    job.events_requested = s.events;
    job.sizing = to_json(s);
  } else {
    throw Error("an MC job needs a number of events or the inputs to size it (CPUe)");
  }
  job.stop_signal = spec.stop_signal;
  job.checkpoint_file = std::filesystem::absolute(spec.workdir) / kCheckpointName;
  job.summary_file = o.summary_file;
  job.workflow_step = o.workflow_step;
  std::string n = std::to_string(job.events_requested);
  spec.env.set[kEnvNumberOfEvents] = n;
  spec.env.set[kEnvCheckpointFile] = job.checkpoint_file.string();
  for (auto& a : spec.argv) replace_all(a, kEventsPlaceholder, n);
  return job;
}

void record_mc(jw::JobRecord& record, const McJob& job) {
  auto& mc = record.extra["mc"];
  mc["events_requested"] = job.events_requested;
  mc["sizing"] = job.sizing;
  mc["checkpoint_file"] = job.checkpoint_file.string();
  mc["summary_file"] = job.summary_file;
  mc["workflow_step"] = job.workflow_step;
  mc["stop_signal"] = job.stop_signal;
  if (job.last) {
    auto cp = to_json(*job.last);
    cp["at"] = jw::utc_now();
    mc["checkpoint"] = cp;
  }
}

McJob mc_job_from_record(const jw::JobRecord& record) {
  auto where = "job " + record.job_id + " record extra.mc";
  auto it = record.extra.find("mc");
  if (it == record.extra.end() || !it->is_object()) throw Error(where + ": missing");
  const auto& mc = *it;
  McJob job;
  auto integer = [&](const char* key, std::int64_t max) {
    auto v = mc.find(key);
    std::int64_t n = -1;
    if (v != mc.end()) n = json_number<std::int64_t>(*v).value_or(-1);
    if (n < 0 || n > max)
      throw Error(where + ": '" + key + "' is not an integer from 0 to " + std::to_string(max));
    return n;
  };
  try {
    job.events_requested = integer("events_requested", std::numeric_limits<std::int64_t>::max());
    job.sizing = mc.value("sizing", nlohmann::json());
    job.checkpoint_file = checkpoint_path(record.workdir, mc);
    job.summary_file = mc.value("summary_file", "");
    job.workflow_step = mc.value("workflow_step", false);
    job.stop_signal = static_cast<int>(integer("stop_signal", 64));
    if (auto cp = mc.find("checkpoint"); cp != mc.end() && cp->is_object())
      job.last = checkpoint_from_json(*cp);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": " + e.what());
  }
  return job;
}

bool mirror_checkpoint(jw::Supervisor& sup, McJob& job, const log::Logger& logger) {
  std::optional<Checkpoint> cp;
  try {
    cp = read_checkpoint(job.checkpoint_file);
  } catch (const Error& e) {
    logger.warn("ignoring a malformed checkpoint", {{"error", e.what()}});
    return false;
  }
  if (!cp || (job.last && *cp == *job.last)) return false;
  job.last = cp;
  record_mc(sup.record(), job);
  sup.save_record();
  logger.debug("checkpoint", {{"events", cp->events}});
  return true;
}

std::optional<StopBy> slot_end(const mjf::ResourceBudget& budget) {
  if (budget.deadlines.empty()) return std::nullopt;
  return StopBy{
      std::chrono::system_clock::time_point(std::chrono::seconds(budget.deadlines.front().epoch)),
      mjf::limit_names(budget.limited_by)};
}

bool time_to_stop(const StopBy& stop_by, double grace_s, double period_s,
                  std::chrono::system_clock::time_point now) {
  auto left = std::chrono::duration<double>(stop_by.at - now).count();
  return left < grace_s + period_s;
}

nlohmann::json to_json(const McResult& r) {
  return {{"events", r.events ? nlohmann::json(*r.events) : nlohmann::json()},
          {"events_source",
           r.events_source.empty() ? nlohmann::json() : nlohmann::json(r.events_source)},
          {"finalised", r.finalised},
          {"interrupted", r.interrupted},
          {"success", r.success},
          {"outputs", r.outputs},
          {"detail", r.detail}};
}

McResult mc_result_from_json(const nlohmann::json& j) {
  McResult r;
  if (j.contains("events") && !j["events"].is_null()) {
    r.events = json_number<std::int64_t>(j["events"]);
    if (!r.events || *r.events < 0) throw Error("MC result: 'events' is not a count of events");
  }
  if (j.contains("events_source") && !j["events_source"].is_null())
    r.events_source = j["events_source"].get<std::string>();
  r.finalised = j.value("finalised", false);
  r.interrupted = j.value("interrupted", false);
  r.success = j.value("success", false);
  r.outputs = j.value("outputs", std::vector<std::string>());
  r.detail = j.value("detail", std::string());
  return r;
}

void store_result(jw::JobRecord& record, const McResult& result) {
  record.extra["mc"]["result"] = to_json(result);
}

std::optional<McResult> stored_result(const jw::JobRecord& record) {
  if (!record.extra.contains("mc") || !record.extra["mc"].contains("result")) return std::nullopt;
  return mc_result_from_json(record.extra["mc"]["result"]);
}

McResult collect_mc(const jw::JobRecord& rec, int stop_signal, const std::string& summary_file) {
  std::filesystem::path workdir = rec.workdir;
  auto mc = rec.extra.contains("mc") ? nlohmann::json(rec.extra["mc"]) : nlohmann::json::object();
  auto cp = read_checkpoint_quietly(checkpoint_path(workdir, mc));
  if (!cp && mc.contains("checkpoint")) cp = checkpoint_from_json(mc["checkpoint"]);
  McResult r = from_files(workdir, summary_file, cp);
  bool stop_requested = !rec.stop_requested_at.empty();
  bool exit_0 = rec.exit_code == 0;
  if (mc.value("workflow_step", false)) {
    r.interrupted = stop_requested && !exit_0 && r.finalised;
  } else {
    r.interrupted = stop_requested && rec.exit_code == 128 + stop_signal;
  }
  r.success = (exit_0 || r.interrupted) && r.events.has_value();
  std::string n = r.events ? std::to_string(*r.events) : "no";
  if (r.success && r.interrupted)
    r.detail = "interrupted after " + n + " events";
  else if (r.success)
    r.detail = n + " events";
  else if (r.events)
    r.detail = "payload ended without finalising; " + n + " events in its last " + r.events_source;
  else
    r.detail = "no events were recorded";
  return r;
}

std::optional<McResult> recover_mc(const std::filesystem::path& workdir) {
  auto rec = jw::load_job_record(workdir);
  if (!rec || !rec->extra.contains("mc")) return std::nullopt;
  nlohmann::json mc = rec->extra["mc"];
  auto cp = read_checkpoint_quietly(checkpoint_path(workdir, mc));
  if (!cp && mc.contains("checkpoint")) cp = checkpoint_from_json(mc["checkpoint"]);
  McResult r = from_files(workdir, mc.value("summary_file", std::string()), cp);
  r.interrupted = true;
  // Kept in job.json: whichever pilot files the job reports the same success.
  r.success = r.events.has_value();
  std::string n = r.events ? std::to_string(*r.events) : "no";
  r.detail = "recovered after the pilot was lost: " + n + " events" +
             (r.events_source.empty() ? "" : " (" + r.events_source + ")");
  return r;
}

std::optional<jw::JobRecord> recover_job(const std::filesystem::path& workdir, double grace_s,
                                         const std::filesystem::path& proc_root,
                                         const log::Logger& logger) {
  jw::LostJobHooks hooks;
  hooks.stop_signal = [](const jw::JobRecord& rec) {
    return rec.extra.contains("mc") ? rec.extra["mc"].value("stop_signal", SIGINT) : SIGINT;
  };
  hooks.complete = [&workdir, stop_signal = hooks.stop_signal](jw::JobRecord& rec) {
    if (rec.outcome == jw::Outcome::lost) {
      if (auto r = recover_mc(workdir)) store_result(rec, *r);
    } else if (rec.extra.contains("mc") && rec.outcome != jw::Outcome::not_started) {
      // It ended by itself, its keeper kept the exit: classified as its pilot would have.
      store_result(rec,
                   collect_mc(rec, stop_signal(rec), rec.extra["mc"].value("summary_file", "")));
    }
  };
  return jw::finish_lost_job(workdir, grace_s, proc_root, logger, hooks);
}

}  // namespace pilot::mc
