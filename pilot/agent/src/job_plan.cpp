#include "agent/job_plan.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_number.hpp"
#include "core/signals.hpp"
#include "dirac/workflow_job.hpp"
#include "jobwrapper/watchdog.hpp"
#include "platform/cpuinfo.hpp"
#include "platform/resources.hpp"

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
        if (s[i] == '\\' && i + 1 < s.size() &&
            std::string_view("$`\"\\\n").find(s[i + 1]) != std::string_view::npos)
          ++i;
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

jw::JobSpec make_job_spec(const jobs::JobDescription& job, const std::string& job_id,
                          const Config& config, const std::filesystem::path& jobdir, int processors,
                          const BudgetView& budget) {
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
  // JobAgent adds DIRAC_JOB_PROCESSORS to the job's ExecutionEnvironment; JobWrapper sets
  // DIRAC_WHOLENODE as Python prints a bool.
  s.env.set["DIRAC_JOB_PROCESSORS"] = std::to_string(processors);
  s.env.set["DIRAC_WHOLENODE"] = job.whole_node() ? "True" : "False";
  s.processors = processors;

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
  if (config.job_memory_limit_bytes)
    w.memory_limit_bytes = static_cast<std::uint64_t>(*config.job_memory_limit_bytes);
  if (job.job_type == "Test") w.stalled_window_s = 0;
  return s;
}

std::optional<mc::McOptions> mc_options(const jobs::JobDescription& job, const BudgetView& budget,
                                        int processors) {
  if (!job.cpu_e) return std::nullopt;
  if (!budget.cpu_power_hs06 || *budget.cpu_power_hs06 <= 0)
    throw Error(
        "cannot size the MC job: the CPU power per processor is unknown (MJF hs06 or "
        "cpu_power_hs06)");
  mc::SizingInputs in;
  // Without any known end, the job may use LHCbDIRAC's 24 h maximum.
  in.cpu_time_left_s = budget.wall_seconds_left.value_or(mc::kMaxCpuTimeSeconds);
  in.cpu_time_left_source =
      budget.wall_seconds_left ? budget.wall_source : "default (no limit known)";
  // A job on several processors makes events on all of them in the same time.
  in.cpu_power_hs06 = *budget.cpu_power_hs06 * processors;
  in.cpu_power_source = budget.cpu_power_source +
                        (processors > 1 ? " x " + std::to_string(processors) + " processors" : "");
  in.cpue = *job.cpu_e;
  in.max_events = job.max_number_of_events;
  mc::McOptions o;
  o.sizing = in;
  o.summary_file = job.xml_summary_file;
  o.workflow_step = payload_kind(job) == PayloadKind::dirac_workflow;
  return o;
}

std::string_view to_string(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::plain:
      return "plain";
    case PayloadKind::dirac_workflow:
      return "dirac_workflow";
  }
  return "plain";
}

PayloadKind payload_kind(const jobs::JobDescription& job) {
  return jobs::is_dirac_jobexec(job.executable) ? PayloadKind::dirac_workflow : PayloadKind::plain;
}

PayloadKind payload_kind(const jw::JobRecord& record) {
  auto it = record.extra.find("agent");
  bool workflow = it != record.extra.end() && it->is_object() &&
                  it->value("payload", "") == to_string(PayloadKind::dirac_workflow);
  return workflow ? PayloadKind::dirac_workflow : PayloadKind::plain;
}

namespace {

std::string fixed2(double v) {
  std::ostringstream o;
  o.precision(2);
  o << std::fixed << v;
  return o.str();
}

// DIRAC's status records: `status` empty where the JobWrapper reports only a minor status.
void add_status(FinalReport& r, std::string status, std::string minor, std::string app = {}) {
  jobs::StatusUpdate u;
  u.status = std::move(status);
  u.minor_status = std::move(minor);
  u.application_status = std::move(app);
  r.statuses.push_back(std::move(u));
}

// JobWrapper.execute and finalize: which statuses a job's end leaves, in order.
void add_end_statuses(FinalReport& r, const jw::JobRecord& rec,
                      const std::optional<mc::McResult>& mc) {
  bool mc_ok = mc && mc->success;
  // A workflow that ran to its end reported its own ApplicationStatus ("Gauss successful").
  bool mc_detail = mc && mc->events && (payload_kind(rec) == PayloadKind::plain || mc->interrupted);
  if (rec.outcome == jobwrapper::Outcome::launch_failed) {
    add_status(r, "Failed", "Application not found");
  } else if (kill_received(rec) && !mc_ok) {
    // The Watchdog's kill: Failed with its reason, then finalize's Failed.
    add_status(r, "Failed", "Received Kill signal");
    add_status(r, "Failed", "");
  } else if (rec.reason && *rec.reason != jw::Reason::stop_requested && !mc_ok) {
    add_status(r, "Failed", std::string(jw::reason_text(*rec.reason)));
    add_status(r, "Failed", "");
  } else if (rec.outcome == jobwrapper::Outcome::success || mc_ok) {
    add_status(r, "Completing", "Application Finished Successfully", mc_detail ? mc->detail : "");
    add_status(r, "Done", "Execution Complete");
  } else if (rec.exit_code == kRescheduleExitCode) {
    // The payload's errno EWMSRESC (1502), truncated to 8 bits; rescheduleFailedJob then reports
    // the application status (with DIRAC's trailing space) and Rescheduled in one record.
    add_status(r, "Completing", "Application Finished With Errors");
    add_status(r, "", "Going to reschedule job");
    add_status(r, "Rescheduled", "JobWrapper execution", "Failed JobWrapper execution ");
    r.rescheduled = true;
  } else {
    add_status(r, "Completing", "Application Finished With Errors");
    add_status(r, "Failed", "");
  }
  r.success = r.statuses.back().status == "Done";
}

}  // namespace

std::vector<std::pair<std::string, std::string>> job_received_parameters(const PilotFacts& f,
                                                                         double match_seconds) {
  std::vector<std::pair<std::string, std::string>> p{{"MatcherServiceTime", fixed2(match_seconds)}};
  if (!f.grid_ce.empty()) p.emplace_back("GridCE", f.grid_ce);
  if (!f.ce_queue.empty()) p.emplace_back("CEQueue", f.ce_queue);
  if (!f.batch_system.empty()) p.emplace_back("BatchSystem", f.batch_system);
  return p;
}

int recorded_processors(const jw::JobRecord& record) {
  auto agent = record.extra.find("agent");
  if (agent == record.extra.end() || !agent->is_object() || !agent->contains("processors"))
    return 1;
  auto n = json_number<int>((*agent)["processors"]);
  return n && *n >= 1 ? *n : 1;
}

std::vector<std::pair<std::string, std::string>> initial_job_parameters(
    const PilotFacts& f, const jobs::JobDescription& job) {
  std::vector<std::pair<std::string, std::string>> p{
      {"Pilot_Reference", f.pilot_reference.empty() ? "Unknown" : f.pilot_reference},
      {"JobType", job.job_type.empty() ? "unknown" : job.job_type}};
  if (!job.job_group.empty()) p.emplace_back("JobGroup", job.job_group);
  if (f.cpu_normalization_factor)
    p.emplace_back("CPUNormalizationFactor", fixed2(*f.cpu_normalization_factor));
  p.emplace_back("PilotAgent", f.pilot_agent);
  p.emplace_back("JobWrapperPID", std::to_string(f.wrapper_pid));
  return p;
}

std::vector<std::pair<std::string, std::string>> node_parameters(
    const std::string& host_name, const std::filesystem::path& root,
    const std::function<const char*(const char*)>& env) {
  std::vector<std::pair<std::string, std::string>> p;
  if (!host_name.empty()) p.emplace_back("HostName", host_name);
  if (const passwd* pw = ::getpwuid(::geteuid())) p.emplace_back("LocalAccount", pw->pw_name);
  if (auto cpuinfo = read_file(root / "proc/cpuinfo"))
    p.emplace_back("ModelName", platform::parse_cpuinfo(*cpuinfo, "").model);
  // The Watchdog's batch job id variables, the last one set winning as in its code.
  std::string local_id;
  for (const char* v : {"LSB_JOBID", "PBS_JOBID", "QSUB_REQNAME", "JOB_ID"})
    if (const char* value = env(v)) local_id = value;
  if (!local_id.empty()) p.emplace_back("LocalJobID", local_id);
  return p;
}

std::vector<std::pair<std::string, std::string>> job_start_parameters(
    long payload_pid, const std::vector<std::pair<std::string, std::string>>& node,
    const std::filesystem::path& root) {
  std::vector<std::pair<std::string, std::string>> p;
  if (payload_pid > 0) p.emplace_back("PayloadPID", std::to_string(payload_pid));
  p.insert(p.end(), node.begin(), node.end());
  if (auto available = platform::mem_available(root))
    p.emplace_back("Memory(MB)", std::to_string(*available >> 20));
  return p;
}

bool kill_received(const jw::JobRecord& rec) {
  auto it = rec.extra.find("agent");
  return it != rec.extra.end() && it->is_object() && it->contains("kill_received");
}

FinalReport final_report(const jw::JobRecord& rec, const std::optional<mc::McResult>& mc,
                         double power, int processors) {
  FinalReport r;
  add_end_statuses(r, rec, mc);
  // JobWrapper.__sendFinalStdOut and the Watchdog's usage summary (wall time and its scaled
  // value count every processor the job held).
  double wall = rec.wall_seconds * std::max(1, processors);
  r.parameters = {
      {"TotalCPUTime(s)", fixed2(rec.cpu_seconds)},
      {"NormCPUTime(s)", fixed2(rec.cpu_seconds * power)},
      {"WallClockTime(s)", fixed2(wall)},
      {"ScaledCPUTime(s)", fixed2(wall * power)},
      {"MemoryUsed(MB)",
       fixed2(static_cast<double>(std::max(rec.max_pss_bytes, rec.max_rss_bytes)) / 1048576.0)}};
  if (rec.outcome == jobwrapper::Outcome::launch_failed)
    r.parameters.push_back({"ApplicationError", rec.error.empty() ? "None reported" : rec.error});
  else if (payload_kind(rec) == PayloadKind::dirac_workflow && !r.success)
    if (auto why = dirac::jobexec_failure(rec.exit_code, rec.signal); !why.empty())
      r.parameters.push_back({"ApplicationError", why});
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
