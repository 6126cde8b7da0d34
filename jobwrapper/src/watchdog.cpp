#include "jobwrapper/watchdog.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace pilot::jobwrapper {
namespace {

struct ReasonInfo {
  Reason reason;
  std::string_view code;
  std::string_view text;
};

constexpr std::array<ReasonInfo, 8> kReasons{{
    {Reason::wall_clock, "wall_clock", "Job has exceeded maximum wall clock time"},
    {Reason::cpu_time, "cpu_time", "Job has reached the CPU limit of the queue"},
    {Reason::memory, "memory", "Job has exceeded its memory limit"},
    {Reason::oom_killed, "oom_killed", "Job process killed by the kernel out-of-memory killer"},
    {Reason::stalled, "stalled", "Watchdog identified this job as stalled"},
    {Reason::disk_space, "disk_space", "Job has insufficient disk space to continue"},
    {Reason::looping, "looping", "Job identified as looping: no file in its directory modified"},
    {Reason::stop_requested, "stop_requested", "Job stopped on request"},
}};

template <typename... A>
std::string fmt(const char* f, A... a) {
  char buf[200];
  std::snprintf(buf, sizeof buf, f, a...);
  return buf;
}

constexpr double kMiB = 1024.0 * 1024.0;

}  // namespace

std::string_view reason_code(Reason r) {
  for (const auto& i : kReasons)
    if (i.reason == r) return i.code;
  return "unknown";
}

std::string_view reason_text(Reason r) {
  for (const auto& i : kReasons)
    if (i.reason == r) return i.text;
  return "unknown";
}

std::optional<Reason> parse_reason(std::string_view code) {
  for (const auto& i : kReasons)
    if (i.code == code) return i.reason;
  return std::nullopt;
}

std::vector<Finding> Watchdog::check(const Sample& s) {
  std::vector<Finding> out;
  const auto& c = config_;
  if (c.wall_limit_s > 0 && s.wall_s > c.wall_limit_s)
    out.push_back(
        {Reason::wall_clock, fmt("wall clock %.1f s > limit %.1f s", s.wall_s, c.wall_limit_s)});
  if (c.cpu_limit_s > 0 && s.cpu_s > c.cpu_limit_s)
    out.push_back(
        {Reason::cpu_time, fmt("CPU time %.2f s > limit %.2f s", s.cpu_s, c.cpu_limit_s)});

  const bool kill_on_memory = c.memory_policy == MemoryPolicy::kill;
  if (c.memory_limit_bytes > 0) {
    auto used = std::max<std::uint64_t>(s.pss_bytes, s.cgroup_memory_bytes.value_or(0));
    if (used > c.memory_limit_bytes) {
      const char* what = s.cgroup_memory_bytes && *s.cgroup_memory_bytes > s.pss_bytes
                             ? "cgroup memory %.1f MiB > limit %.1f MiB"
                             : "PSS %.1f MiB > limit %.1f MiB";
      out.push_back({Reason::memory,
                     fmt(what, static_cast<double>(used) / kMiB,
                         static_cast<double>(c.memory_limit_bytes) / kMiB),
                     kill_on_memory});
    }
  }
  if (s.oom_kills && *s.oom_kills > 0)
    out.push_back({Reason::oom_killed,
                   fmt("%.0f OOM kill(s) in the job cgroup", static_cast<double>(*s.oom_kills)),
                   kill_on_memory});

  if (c.stalled_window_s > 0) {
    history_.emplace_back(s.wall_s, s.cpu_s);
    // Keep one sample at or before the window start as the reference.
    while (history_.size() > 1 && history_[1].first <= s.wall_s - c.stalled_window_s)
      history_.pop_front();
    const auto& [w0, c0] = history_.front();
    double span = s.wall_s - w0;
    if (span >= c.stalled_window_s && span > 0) {
      double ratio = (s.cpu_s - c0) / span;
      if (ratio < c.stalled_threshold)
        out.push_back(
            {Reason::stalled, fmt("CPU/wall %.2f %% over the last %.0f s (threshold %.1f %%)",
                                  ratio * 100, span, c.stalled_threshold * 100)});
    }
  }
  if (c.min_free_disk_bytes > 0 && s.free_disk_bytes && *s.free_disk_bytes < c.min_free_disk_bytes)
    out.push_back({Reason::disk_space, fmt("%.1f MiB free < minimum %.1f MiB",
                                           static_cast<double>(*s.free_disk_bytes) / kMiB,
                                           static_cast<double>(c.min_free_disk_bytes) / kMiB)});
  if (c.looping_s > 0 && s.files_idle_s && *s.files_idle_s > c.looping_s)
    out.push_back({Reason::looping, fmt("no file modified for %.0f s (limit %.0f s)",
                                        *s.files_idle_s, c.looping_s)});

  // Warnings are news once; kill findings stay until acted on.
  std::erase_if(out, [&](const Finding& f) {
    if (f.kill) return false;
    if (std::find(warned_.begin(), warned_.end(), f.reason) != warned_.end()) return true;
    warned_.push_back(f.reason);
    return false;
  });
  return out;
}

}  // namespace pilot::jobwrapper
