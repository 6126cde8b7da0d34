#include "monitor/status_text.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace pilot::monitor {
namespace {

std::string printf_string(const char* format, double a, double b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a, b);
  return buf;
}

std::int64_t count(const std::map<JobOutcome, std::int64_t>& m, JobOutcome k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

std::int64_t count(const std::map<RequestResult, std::int64_t>& m, RequestResult k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : it->second;
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string budget_line(const PilotStatus& s) {
  std::string wall = s.wall_s_left ? human_duration(*s.wall_s_left) + " wall time left"
                                   : "wall time left not known";
  if (s.wall_s_left && !s.wall_limited_by.empty())
    wall += " (" + join(s.wall_limited_by, ", ") + ")";
  if (s.cpu_work_left_hs06s)
    wall += ", " + printf_string("%.0f", *s.cpu_work_left_hs06s) + " HS06 s of CPU work left";
  return wall;
}

std::string state_line(const PilotStatus& s) {
  std::string line = pilot_state_name(s.state);
  if (!s.stop_reason.empty()) {
    line += ": " + s.stop_reason;
    if (!s.stop_detail.empty() && s.stop_detail != s.stop_reason)
      line += " (" + s.stop_detail + ")";
  }
  return line;
}

std::string requests_line(const Counters& c) {
  std::ostringstream out;
  out << count(c.requests, RequestResult::match) << " matched, "
      << count(c.requests, RequestResult::no_match) << " no match, "
      << count(c.requests, RequestResult::error) << " failed";
  if (auto n = c.request_latency.total(); n > 0)
    out << "; mean answer "
        << printf_string("%.2f s", c.request_latency.sum_s / static_cast<double>(n));
  return out.str();
}

std::string finished_line(const Counters& c) {
  std::ostringstream out;
  out << count(c.jobs_finished, JobOutcome::succeeded) << " succeeded, "
      << count(c.jobs_finished, JobOutcome::failed) << " failed, "
      << count(c.jobs_finished, JobOutcome::rescheduled) << " rescheduled";
  if (c.jobs_interrupted > 0) out << " (" << c.jobs_interrupted << " MC interrupted)";
  if (c.events > 0) out << "; " << c.events << " events";
  return out.str();
}

}  // namespace

std::string human_duration(double seconds) {
  auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
  char buf[48];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lld s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%lld h %02lld min", s / 3600, s % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "%lld d %02lld h", s / 86400, s % 86400 / 3600);
  return buf;
}

std::string human_bytes(std::int64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(std::max<std::int64_t>(0, bytes));
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  if (u == 0) return printf_string("%.0f B", v);
  return printf_string(v < 10 ? "%.1f " : "%.0f ", v) + units[u];
}

std::string progress_bar(std::int64_t done, std::int64_t planned, int width) {
  double fraction =
      planned > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(planned), 0.0, 1.0)
                  : 0;
  int filled = static_cast<int>(std::floor(fraction * width));
  std::string bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                    std::string(static_cast<std::size_t>(width - filled), '.') + "]";
  return bar + printf_string(" %3.0f %%", fraction * 100) + "  " + std::to_string(done) + "/" +
         std::to_string(planned);
}

std::string job_table_header(int id_width) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-*s %-9s %5s %12s %12s %9s  %s", id_width, "JOB", "STATE",
                "PROC", "CPU", "WALL", "MEMORY", "PROGRESS");
  return buf;
}

std::string job_row(const JobView& job, int id_width) {
  std::string memory = job.memory_bytes ? human_bytes(*job.memory_bytes) : "";
  std::string progress;
  if (job.mc && job.events_planned)
    progress = progress_bar(job.events_done.value_or(0), *job.events_planned);
  else if (job.mc)
    progress = std::to_string(job.events_done.value_or(0)) + " events";
  else
    progress = job.minor_status;
  char buf[512];
  std::snprintf(buf, sizeof buf, "  %-*s %-9s %5d %12s %12s %9s  %s", id_width, job.id.c_str(),
                job_state_name(job.state), job.processors, human_duration(job.cpu_s).c_str(),
                human_duration(job.wall_s).c_str(), memory.c_str(), progress.c_str());
  return buf;
}

std::string render_status(const PilotStatus& s, const Freshness& f) {
  std::ostringstream out;
  if (f.stale)
    out << "STALE: " << f.why << "; last written " << human_duration(f.age_s)
        << " ago, when it was " << pilot_state_name(s.state) << "\n";
  out << "pilot " << s.pid << " on " << s.host;
  if (!s.site.empty()) out << " (" << s.site << ")";
  out << ", version " << s.version << ", up " << human_duration(s.updated_at - s.started_at)
      << "\n";
  out << "  state     " << state_line(s) << "\n";
  out << "  source    " << s.source << "\n";
  out << "  budget    " << budget_line(s) << "\n";
  out << "  slots     " << s.slots_busy << " of " << s.slots_total << " processors busy\n";
  out << "  finished  " << finished_line(s.counters) << "\n";
  out << "  requests  " << requests_line(s.counters) << "\n";
  out << "  reports   " << s.reports_pending << " waiting for the job source, "
      << s.counters.heartbeats << " heartbeats sent\n";
  if (!f.stale) out << "  updated   " << human_duration(f.age_s) << " ago\n";
  if (s.jobs.empty()) {
    out << "no job running\n";
  } else {
    int width = 14;
    for (const auto& j : s.jobs) width = std::max(width, static_cast<int>(j.id.size()));
    out << job_table_header(width) << "\n";
    for (const auto& j : s.jobs) out << job_row(j, width) << "\n";
  }
  return out.str();
}

}  // namespace pilot::monitor
