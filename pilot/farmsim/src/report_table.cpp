#include <algorithm>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>

#include "farmsim/report.hpp"

namespace pilot::farmsim {

namespace {

constexpr int kLabelWidth = 40;
constexpr int kColumnWidth = 14;

std::string fixed(std::optional<double> v, int decimals) {
  if (!v) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return buf;
}

std::string count(std::int64_t n) {
  return std::to_string(n);
}

std::string pad_left(std::string text, std::size_t width) {
  if (text.size() < width) text.insert(0, width - text.size(), ' ');
  return text;
}

std::string pad_right(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

using Figure = std::function<std::string(const Summary&)>;

std::string row(const std::string& label, const std::vector<PolicyRun>& runs, const Figure& f) {
  std::string line = pad_right(label, kLabelWidth);
  for (const auto& run : runs) line += pad_left(f(run.summary), kColumnWidth);
  return line + "\n";
}

std::string fill_rows(const std::vector<PolicyRun>& runs) {
  return row("time to 50 % busy (s)", runs,
             [](const Summary& m) { return fixed(m.time_to_50_s, 1); }) +
         row("time to 90 % busy (s)", runs,
             [](const Summary& m) { return fixed(m.time_to_90_s, 1); }) +
         row("time to 99 % busy (s)", runs,
             [](const Summary& m) { return fixed(m.time_to_99_s, 1); }) +
         row("  / fill bound", runs, [](const Summary& m) { return fixed(m.fill_ratio_99, 3); }) +
         row("idle slot hours", runs, [](const Summary& m) { return fixed(m.idle_slot_hours, 0); });
}

std::string matcher_rows(const std::vector<PolicyRun>& runs) {
  return row("requests", runs, [](const Summary& m) { return count(m.requests); }) +
         row("  refused (outage)", runs, [](const Summary& m) { return count(m.refused); }) +
         row("matches", runs, [](const Summary& m) { return count(m.matches); }) +
         row("requests per match", runs,
             [](const Summary& m) { return fixed(m.requests_per_match, 3); }) +
         row("latency p50 (s)", runs, [](const Summary& m) { return fixed(m.latency_p50_s, 2); }) +
         row("latency p99 (s)", runs, [](const Summary& m) { return fixed(m.latency_p99_s, 2); }) +
         row("time-outs", runs, [](const Summary& m) { return count(m.timeouts); }) +
         row("jobs lost to time-outs", runs,
             [](const Summary& m) { return count(m.lost_to_timeouts); }) +
         row("  back in the backlog", runs,
             [](const Summary& m) { return count(m.jobs_returned); }) +
         row("matches declined (no longer fit)", runs,
             [](const Summary& m) { return count(m.declined); }) +
         row("max offered / capacity (10 s, t>=60)", runs,
             [](const Summary& m) { return fixed(m.max_offered_ratio_10s, 3); }) +
         row("mean Matcher utilisation", runs,
             [](const Summary& m) { return fixed(m.mean_utilisation, 3); }) +
         row("recovery after the outage (s)", runs,
             [](const Summary& m) { return fixed(m.recovery_s, 0); });
}

std::string stop_rows(const std::vector<PolicyRun>& runs) {
  std::set<std::string> reasons;
  for (const auto& run : runs)
    for (const auto& [reason, n] : run.summary.pilots_stopped) reasons.insert(reason);
  std::string out = row("pilots stopped", runs, [](const Summary& m) {
    int n = 0;
    for (const auto& [reason, k] : m.pilots_stopped) n += k;
    return count(n);
  });
  for (const auto& reason : reasons)
    out += row("  " + reason, runs, [&reason](const Summary& m) {
      auto it = m.pilots_stopped.find(reason);
      return count(it == m.pilots_stopped.end() ? 0 : it->second);
    });
  return out;
}

}  // namespace

std::string parameters_text(const Scenario& s) {
  std::string out;
  auto flat = parameters_json(s).flatten();
  for (const auto& [pointer, value] : flat.items()) {
    std::string name = pointer.substr(1);  // a JSON pointer: "/ours/pacing/kind"
    std::replace(name.begin(), name.end(), '/', '.');
    out += name + ": " + value.dump() + "\n";
  }
  return out;
}

std::string summary_table(const Scenario& s, const std::vector<PolicyRun>& runs) {
  char head[160];
  std::snprintf(head, sizeof head,
                "%lld slots, Matcher capacity %.1f requests/s, fill bound %.1f s\n",
                static_cast<long long>(s.slots()), s.capacity_per_s(), s.fill_bound_s());
  std::string out = head;
  std::string names = pad_right("", kLabelWidth);
  for (const auto& run : runs) names += pad_left(policy_name(run.policy), kColumnWidth);
  out += names + "\n";
  return out + fill_rows(runs) + matcher_rows(runs) + stop_rows(runs);
}

}  // namespace pilot::farmsim
