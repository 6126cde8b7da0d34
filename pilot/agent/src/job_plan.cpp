#include "agent/job_plan.hpp"

#include <signal.h>

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/signals.hpp"
#include "jobwrapper/watchdog.hpp"

namespace pilot::agent {
namespace jw = pilot::jobwrapper;

std::vector<std::string> split_arguments(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) out.push_back(std::move(cur)), cur.clear(), in_word = false;
    } else if (c == '\'') {
      auto end = s.find('\'', i + 1);
      if (end == std::string::npos) throw Error("unterminated ' in Arguments: " + s);
      cur += s.substr(i + 1, end - i - 1);
      i = end;
      in_word = true;
    } else if (c == '"') {
      in_word = true;
      for (++i;; ++i) {
        if (i >= s.size()) throw Error("unterminated \" in Arguments: " + s);
        if (s[i] == '"') break;
        if (s[i] == '\\' && i + 1 < s.size() && std::string_view("$`\"\\\n").find(s[i + 1]) != std::string_view::npos) ++i;
        cur += s[i];
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

jw::JobSpec make_job_spec(const jobs::JobDescription& job, const std::string& job_id, const Config& config,
                          const std::filesystem::path& jobdir, int processors, const BudgetView& budget) {
  jw::JobSpec s;
  s.argv.push_back(job.executable);
  for (auto& a : split_arguments(job.arguments)) s.argv.push_back(std::move(a));
  s.workdir = jobdir;
  s.job_id = job_id;
  // The payload's environment is built: the pilot's credentials stay out (EnvPolicy default).
  s.env.inherit = true;
  for (const auto& [k, v] : job.environment) s.env.set[k] = v;
  s.env.set["JOBID"] = job_id;
  s.env.set["DIRACJOBID"] = job_id;
  s.env.set["DIRACSITE"] = config.site;
  s.env.set["OMP_NUM_THREADS"] = std::to_string(processors);
  s.env.set["DIRAC_PROCESSORS"] = std::to_string(processors);

  s.stop_signal = job.stop_signal.value_or(parse_signal(config.stop_signal));
  s.grace_s = config.grace_s > 0 ? config.grace_s : budget.grace_s.value_or(30);
  s.heartbeat_s = config.heartbeat_s;
  s.stdout_name = job.std_output;
  s.stderr_name = job.std_error;
  auto& w = s.watchdog;
  w.poll_s = std::min(5.0, std::max(0.05, config.heartbeat_s / 4));
  // DIRAC's Watchdog: a CPU limit of the job's CPUTime (HS06 s) / power x 1.2, when both known.
  if (job.cpu_time && budget.cpu_power_hs06 && *budget.cpu_power_hs06 > 0)
    w.cpu_limit_s = static_cast<double>(*job.cpu_time) / *budget.cpu_power_hs06 * 1.2 * processors;
  if (config.job_memory_limit_bytes) w.memory_limit_bytes = static_cast<std::uint64_t>(*config.job_memory_limit_bytes);
  if (job.job_type == "Test") w.stalled_window_s = 0;
  return s;
}

std::optional<mc::McOptions> mc_options(const jobs::JobDescription& job, const BudgetView& budget, int processors) {
  if (!job.cpu_e) return std::nullopt;
  if (!budget.cpu_power_hs06 || *budget.cpu_power_hs06 <= 0)
    throw Error("cannot size the MC job: the CPU power per processor is unknown (MJF hs06 or cpu_power_hs06)");
  mc::SizingInputs in;
  // Without any known end, the job may use LHCbDIRAC's 24 h maximum.
  in.cpu_time_left_s = budget.wall_seconds_left.value_or(mc::kMaxCpuTimeSeconds);
  in.cpu_time_left_source = budget.wall_seconds_left ? budget.wall_source : "default (no limit known)";
  // A job on several processors makes events on all of them in the same time.
  in.cpu_power_hs06 = *budget.cpu_power_hs06 * processors;
  in.cpu_power_source = budget.cpu_power_source + (processors > 1 ? " x " + std::to_string(processors) + " processors" : "");
  in.cpue = *job.cpu_e;
  in.max_events = job.max_number_of_events;
  mc::McOptions o;
  o.sizing = in;
  o.summary_file = job.xml_summary_file;
  return o;
}

FinalReport final_report(const jw::JobRecord& rec, const std::optional<mc::McResult>& mc, double power) {
  FinalReport r;
  auto add = [&](std::string status, std::string minor, std::string app = {}) {
    jobs::StatusUpdate u;
    u.status = std::move(status);
    u.minor_status = std::move(minor);
    u.application_status = std::move(app);
    r.statuses.push_back(std::move(u));
  };
  bool app_ok = rec.outcome == "success" || (mc && mc->success);
  if (rec.outcome == "launch_failed") {
    add("Failed", "Payload failed to start", rec.error);
  } else if (rec.reason && *rec.reason != jw::Reason::stop_requested && !(mc && mc->success)) {
    add("Failed", std::string(jw::reason_text(*rec.reason)));
  } else if (app_ok) {
    std::string app = mc && mc->events ? mc->detail : "";
    add("Completing", "Application Finished Successfully", app);
    add("Done", "Execution Complete");
  } else if (rec.exit_code == kRescheduleExitCode) {
    // DIRAC's JobWrapper: the payload's errno EWMSRESC (1502), truncated to 8 bits.
    add("Completing", "Application Finished With Errors", "Exit code " + std::to_string(kRescheduleExitCode));
    add("Completing", "Going to reschedule job");
    add("Rescheduled", "JobWrapper execution", "Failed JobWrapper execution");
    r.rescheduled = true;
  } else {
    std::string app = rec.exit_code ? "Exit code " + std::to_string(*rec.exit_code)
                                    : rec.signal ? "Killed by " + std::to_string(*rec.signal) : "";
    if (!rec.reason_detail.empty() && rec.reason) app = rec.reason_detail;
    add("Completing", "Application Finished With Errors", app);
    add("Failed", "Application Finished With Errors");
  }
  r.success = r.statuses.back().status == "Done";

  auto fmt = [](double v) {
    std::ostringstream o;
    o.precision(2);
    o << std::fixed << v;
    return o.str();
  };
  r.parameters = {{"TotalCPUTime(s)", fmt(rec.cpu_seconds)},
                  {"WallClockTime(s)", fmt(rec.wall_seconds)},
                  {"MemoryUsed(MB)", fmt(static_cast<double>(std::max(rec.max_pss_bytes, rec.max_rss_bytes)) / 1048576.0)}};
  if (power > 0) r.parameters.push_back({"NormCPUTime(s)", fmt(rec.cpu_seconds * power)});
  if (rec.exit_code) r.parameters.push_back({"PayloadExitCode", std::to_string(*rec.exit_code)});
  if (mc && mc->events) {
    r.events = mc->events;
    r.parameters.push_back({"NumberOfEvents", std::to_string(*mc->events)});
    r.parameters.push_back({"EventsSource", mc->events_source});
    r.parameters.push_back({"Interrupted", mc->interrupted ? "True" : "False"});
  }
  return r;
}

}  // namespace pilot::agent
