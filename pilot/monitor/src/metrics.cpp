#include "monitor/metrics.hpp"

#include <charconv>
#include <cmath>
#include <concepts>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::monitor {
namespace {

// pilot_status.cpp holds the same lists, out of reach in its anonymous namespace; the tests
// check these against the enums' name functions, so a value added there and missed here fails.

using Label = std::pair<std::string_view, std::string>;
using Labels = std::vector<Label>;

// Go's ParseFloat, which Prometheus uses, reads the shortest round-trip form to_chars writes;
// only the special values need the spelling of the format.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return {buf, end};
}

// Integers print exactly, where a double would round counts above 2^53.
template <std::integral I>
std::string number(I v) {
  char buf[24];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return {buf, end};
}

// The length of the well-formed UTF-8 sequence `s` starts with (as Go's utf8.ValidString
// judges: no overlong forms, surrogates or code points above U+10FFFF), 0 if it starts with none.
std::size_t utf8_sequence(std::string_view s) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = byte(0);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i)
    if ((byte(i) & 0xC0) != 0x80) return 0;
  bool out_of_range = (c == 0xE0 && byte(1) < 0xA0) || (c == 0xED && byte(1) > 0x9F) ||
                      (c == 0xF0 && byte(1) < 0x90) || (c == 0xF4 && byte(1) > 0x8F);
  return out_of_range ? 0 : n;
}

// Escaped as the format asks. A byte that is not UTF-8 becomes U+FFFD: the collector rejects the
// whole file over a single one, and every figure of the pilot would be gone.
std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  while (!v.empty()) {
    std::size_t n = utf8_sequence(v);
    if (v[0] == '\\')
      out += "\\\\";
    else if (v[0] == '"')
      out += "\\\"";
    else if (v[0] == '\n')
      out += "\\n";
    else
      out.append(n ? v.substr(0, n) : "\xEF\xBF\xBD");
    v.remove_prefix(n ? n : 1);
  }
  return out;
}

struct Sample {
  std::string_view suffix;  // a histogram's _bucket, _sum, _count; empty otherwise
  Labels labels;
  std::string value;
};

// One metric family: its HELP and TYPE lines once, then its samples, each with the pilot's label
// first. A family that got no sample is not written at all.
class Family {
 public:
  Family(std::string_view name, std::string_view type, std::string_view help)
      : name_(name), type_(type), help_(help) {}

  void add(std::string value, Labels labels = {}, std::string_view suffix = {}) {
    samples_.push_back({suffix, std::move(labels), std::move(value)});
  }

  // `help_` is one of the constants below: no backslash or newline to escape.
  void render(std::string& out, const Label& pilot) const {
    if (samples_.empty()) return;
    out.append("# HELP ").append(name_).append(" ").append(help_).append("\n");
    out.append("# TYPE ").append(name_).append(" ").append(type_).append("\n");
    for (const auto& s : samples_) {
      out.append(name_).append(s.suffix).append("{");
      append_label(out, pilot);
      for (const auto& l : s.labels) append_label(out.append(","), l);
      out.append("} ").append(s.value).append("\n");
    }
  }

 private:
  static void append_label(std::string& out, const Label& l) {
    out.append(l.first).append("=\"").append(escape_label_value(l.second)).append("\"");
  }

  std::string_view name_, type_, help_;
  std::vector<Sample> samples_;
};

using Families = std::vector<Family>;

// The new family; the reference holds until the next one is added.
Family& family(Families& fs, std::string_view name, std::string_view type, std::string_view help) {
  return fs.emplace_back(name, type, help);
}

void add_gauge(Families& fs, std::string_view name, std::string_view help, std::string value) {
  family(fs, name, "gauge", help).add(std::move(value));
}

template <typename T>
void add_optional_gauge(Families& fs, std::string_view name, std::string_view help,
                        const std::optional<T>& value) {
  if (value) add_gauge(fs, name, help, number(*value));
}

template <typename Key>
std::int64_t count_of(const std::map<Key, std::int64_t>& counts, Key key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

void add_identity(Families& fs, const PilotStatus& s) {
  family(fs, "pilot_info", "gauge",
         "The pilot's version, site, host and job source as labels; always 1.")
      .add("1", {{"version", s.version}, {"site", s.site}, {"host", s.host}, {"source", s.source}});
  auto& state = family(fs, "pilot_state", "gauge",
                       "1 for the state the pilot is in, 0 for every other state.");
  for (auto st : kPilotStates)
    state.add(st == s.state ? "1" : "0", {{"state", pilot_state_name(st)}});
  add_gauge(fs, "pilot_start_time_seconds", "When the pilot started, seconds since the epoch.",
            number(s.started_at));
  add_gauge(fs, "pilot_status_updated_time_seconds",
            "When the pilot last wrote this status, seconds since the epoch; an old value is a "
            "dead or stuck pilot.",
            number(s.updated_at));
  add_gauge(fs, "pilot_status_period_seconds", "How often the pilot rewrites this status.",
            number(s.period_s));
}

void add_budget(Families& fs, const PilotStatus& s) {
  add_optional_gauge(fs, "pilot_wall_time_left_seconds",
                     "Wall-clock time left in the slot; absent when no limit is known.",
                     s.wall_s_left);
  add_optional_gauge(fs, "pilot_cpu_work_left_hs06_seconds",
                     "CPU work left in the slot, HS06 seconds; absent when unknown.",
                     s.cpu_work_left_hs06s);
  add_gauge(fs, "pilot_slots", "Processors the pilot has for jobs.", number(s.slots_total));
  add_gauge(fs, "pilot_slots_busy", "Processors taken by the jobs the pilot holds.",
            number(s.slots_busy));
}

void add_job_counts(Families& fs, const std::vector<JobView>& jobs) {
  add_gauge(fs, "pilot_jobs_running", "Jobs the pilot holds: preparing, running or stopping.",
            number(jobs.size()));
  auto& by_state = family(fs, "pilot_jobs", "gauge", "Jobs the pilot holds, by job state.");
  for (auto st : kJobStates) {
    std::size_t n = 0;
    for (const auto& j : jobs) n += j.state == st ? 1 : 0;
    by_state.add(number(n), {{"state", job_state_name(st)}});
  }
}

// One sample per job whose figure `get` knows (returns a value, not nullopt).
template <typename Get>
void add_per_job(Families& fs, std::string_view name, std::string_view type, std::string_view help,
                 const std::vector<JobView>& jobs, Get get) {
  auto& f = family(fs, name, type, help);
  for (const auto& j : jobs)
    if (auto v = get(j)) f.add(number(*v), {{"job_id", j.id}});
}

void add_jobs(Families& fs, const std::vector<JobView>& jobs) {
  add_job_counts(fs, jobs);
  add_per_job(fs, "pilot_job_processors", "gauge", "Processors the job has.", jobs,
              [](const JobView& j) { return std::optional(j.processors); });
  add_per_job(fs, "pilot_job_start_time_seconds", "gauge",
              "When the job's payload started, seconds since the epoch.", jobs,
              [](const JobView& j) { return j.started_at; });
  add_per_job(fs, "pilot_job_cpu_seconds_total", "counter",
              "CPU time the job's payload has used, all its processes.", jobs,
              [](const JobView& j) { return std::optional(j.cpu_s); });
  add_per_job(fs, "pilot_job_wall_seconds", "gauge", "Wall-clock time the job's payload has run.",
              jobs, [](const JobView& j) { return std::optional(j.wall_s); });
  add_per_job(fs, "pilot_job_memory_bytes", "gauge",
              "Resident memory of the job's payload processes now.", jobs,
              [](const JobView& j) { return j.memory_bytes; });
  add_per_job(fs, "pilot_job_events", "gauge",
              "Events a Monte Carlo job has made, as of its last checkpoint.", jobs,
              [](const JobView& j) { return j.events_done; });
  add_per_job(fs, "pilot_job_events_planned", "gauge", "Events a Monte Carlo job was sized for.",
              jobs, [](const JobView& j) { return j.events_planned; });
}

void add_request_latency(Families& fs, const LatencyHistogram& h) {
  auto& f = family(fs, "pilot_matcher_request_duration_seconds", "histogram",
                   "How long the pilot's requests for a job took.");
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i) {
    bool last = i + 1 == LatencyHistogram::kBuckets;
    f.add(number(h.counts[i]), {{"le", last ? "+Inf" : number(LatencyHistogram::kBounds[i])}},
          "_bucket");
  }
  f.add(number(h.sum_s), {}, "_sum");
  f.add(number(h.total()), {}, "_count");
}

void add_counters(Families& fs, const Counters& c) {
  auto& finished = family(fs, "pilot_jobs_finished_total", "counter",
                          "Jobs the pilot has finished, by outcome.");
  for (auto o : kOutcomes)
    finished.add(number(count_of(c.jobs_finished, o)), {{"outcome", job_outcome_name(o)}});
  family(fs, "pilot_jobs_interrupted_total", "counter",
         "Monte Carlo jobs stopped early at an event boundary, also counted by their outcome.")
      .add(number(c.jobs_interrupted));
  family(fs, "pilot_events_total", "counter",
         "Monte Carlo events the pilot's jobs produced and reported.")
      .add(number(c.events));
  auto& requests = family(fs, "pilot_matcher_requests_total", "counter",
                          "Requests for a job the pilot made, by result.");
  for (auto r : kResults)
    requests.add(number(count_of(c.requests, r)), {{"result", request_result_name(r)}});
  add_request_latency(fs, c.request_latency);
  family(fs, "pilot_heartbeats_total", "counter", "Heartbeats the pilot sent for its jobs.")
      .add(number(c.heartbeats));
}

}  // namespace

std::string render_metrics(const PilotStatus& status) {
  Families fs;
  add_identity(fs, status);
  add_budget(fs, status);
  add_jobs(fs, status.jobs);
  add_counters(fs, status.counters);
  add_gauge(fs, "pilot_reports_pending",
            "Status reports and heartbeats queued for the job source, not yet delivered.",
            number(status.reports_pending));
  std::string out;
  Label pilot{"pilot_reference", status.pilot_reference};
  for (const auto& f : fs) f.render(out, pilot);
  return out;
}

void write_metrics_textfile(const std::filesystem::path& file, const PilotStatus& status) {
  if (!file.filename().string().ends_with(".prom"))
    throw Error("metrics textfile " + file.string() +
                ": the name must end in .prom, or node_exporter's textfile collector ignores it");
  try {
    replace_file(file, render_metrics(status), 0644);
  } catch (const Error& e) {  // its message names the temporary file or the directory
    throw Error("cannot write the metrics textfile " + file.string() + ": " + e.what());
  }
}

}  // namespace pilot::monitor
