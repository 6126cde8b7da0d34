#include "monitor/pilot_status.hpp"

#include <algorithm>
#include <chrono>

#include "core/error.hpp"

namespace pilot::monitor {

using nlohmann::json;

namespace {

template <typename E, std::size_t N>
std::optional<E> enum_from_name(std::string_view name, const E (&all)[N],
                                const char* (*to_name)(E)) {
  for (E e : all)
    if (name == to_name(e)) return e;
  return std::nullopt;
}

template <typename T>
json optional_json(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// The field `key` of `j`, which must be there with the JSON type `T` reads.
template <typename T>
T field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) throw Error(std::string("pilot status: field '") + key + "' is missing");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(std::string("pilot status: field '") + key + "' has the wrong type: " + it->dump());
  }
}

template <typename T>
std::optional<T> optional_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return field<T>(j, key);
}

template <typename E, std::size_t N>
E enum_field(const json& j, const char* key, const E (&all)[N], const char* (*to_name)(E)) {
  auto name = field<std::string>(j, key);
  auto e = enum_from_name(name, all, to_name);
  if (!e)
    throw Error(std::string("pilot status: field '") + key + "' is not a known value: " + name);
  return *e;
}

JobView job_from_json(const json& j) {
  JobView v;
  v.id = field<std::string>(j, "id");
  v.state = enum_field(j, "state", kJobStates, job_state_name);
  v.processors = field<int>(j, "processors");
  v.started_at = optional_field<double>(j, "started_at");
  v.cpu_s = field<double>(j, "cpu_s");
  v.wall_s = field<double>(j, "wall_s");
  v.memory_bytes = optional_field<std::int64_t>(j, "memory_bytes");
  v.mc = field<bool>(j, "mc");
  v.events_done = optional_field<std::int64_t>(j, "events_done");
  v.events_planned = optional_field<std::int64_t>(j, "events_planned");
  v.minor_status = field<std::string>(j, "minor_status");
  return v;
}

json counters_json(const Counters& c) {
  json finished = json::object();
  for (auto o : kOutcomes) {
    auto it = c.jobs_finished.find(o);
    finished[job_outcome_name(o)] = it == c.jobs_finished.end() ? 0 : it->second;
  }
  json requests = json::object();
  for (auto r : kResults) {
    auto it = c.requests.find(r);
    requests[request_result_name(r)] = it == c.requests.end() ? 0 : it->second;
  }
  json buckets = json::array();
  for (std::size_t i = 0; i < LatencyHistogram::kBuckets; ++i)
    buckets.push_back(c.request_latency.counts[i]);
  return {{"jobs_finished", finished},
          {"jobs_interrupted", c.jobs_interrupted},
          {"events", c.events},
          {"requests", requests},
          {"request_latency", {{"counts", buckets}, {"sum_s", c.request_latency.sum_s}}},
          {"heartbeats", c.heartbeats}};
}

Counters counters_from_json(const json& j) {
  Counters c;
  auto finished = field<json>(j, "jobs_finished");
  for (auto o : kOutcomes) c.jobs_finished[o] = field<std::int64_t>(finished, job_outcome_name(o));
  auto requests = field<json>(j, "requests");
  for (auto r : kResults) c.requests[r] = field<std::int64_t>(requests, request_result_name(r));
  auto latency = field<json>(j, "request_latency");
  auto counts = field<std::vector<std::int64_t>>(latency, "counts");
  if (counts.size() != LatencyHistogram::kBuckets)
    throw Error("pilot status: request_latency has " + std::to_string(counts.size()) +
                " buckets, not " + std::to_string(LatencyHistogram::kBuckets));
  std::copy(counts.begin(), counts.end(), c.request_latency.counts);
  c.request_latency.sum_s = field<double>(latency, "sum_s");
  c.jobs_interrupted = field<std::int64_t>(j, "jobs_interrupted");
  c.events = field<std::int64_t>(j, "events");
  c.heartbeats = field<std::int64_t>(j, "heartbeats");
  return c;
}

}  // namespace

const char* pilot_state_name(PilotState s) {
  switch (s) {
    case PilotState::starting:
      return "starting";
    case PilotState::running:
      return "running";
    case PilotState::stopping:
      return "stopping";
    case PilotState::reclaimed:
      return "reclaimed";
    case PilotState::ended:
      return "ended";
  }
  return "?";
}

std::optional<PilotState> pilot_state_from_name(std::string_view name) {
  return enum_from_name(name, kPilotStates, pilot_state_name);
}

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::preparing:
      return "preparing";
    case JobState::running:
      return "running";
    case JobState::stopping:
      return "stopping";
  }
  return "?";
}

std::optional<JobState> job_state_from_name(std::string_view name) {
  return enum_from_name(name, kJobStates, job_state_name);
}

const char* job_outcome_name(JobOutcome o) {
  switch (o) {
    case JobOutcome::succeeded:
      return "succeeded";
    case JobOutcome::failed:
      return "failed";
    case JobOutcome::rescheduled:
      return "rescheduled";
  }
  return "?";
}

const char* request_result_name(RequestResult r) {
  switch (r) {
    case RequestResult::match:
      return "match";
    case RequestResult::no_match:
      return "no_match";
    case RequestResult::error:
      return "error";
  }
  return "?";
}

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void LatencyHistogram::observe(double seconds) {
  for (std::size_t i = 0; i < kBuckets; ++i)
    if (i == kBuckets - 1 || seconds <= kBounds[i]) ++counts[i];
  sum_s += seconds;
}

json to_json(const JobView& v) {
  return {{"id", v.id},
          {"state", job_state_name(v.state)},
          {"processors", v.processors},
          {"started_at", optional_json(v.started_at)},
          {"cpu_s", v.cpu_s},
          {"wall_s", v.wall_s},
          {"memory_bytes", optional_json(v.memory_bytes)},
          {"mc", v.mc},
          {"events_done", optional_json(v.events_done)},
          {"events_planned", optional_json(v.events_planned)},
          {"minor_status", v.minor_status}};
}

json to_json(const PilotStatus& s) {
  json jobs = json::array();
  for (const auto& j : s.jobs) jobs.push_back(to_json(j));
  return {{"pid", s.pid},
          {"version", s.version},
          {"host", s.host},
          {"site", s.site},
          {"source", s.source},
          {"pilot_reference", s.pilot_reference},
          {"started_at", s.started_at},
          {"updated_at", s.updated_at},
          {"period_s", s.period_s},
          {"state", pilot_state_name(s.state)},
          {"stop_reason", s.stop_reason},
          {"stop_detail", s.stop_detail},
          {"wall_s_left", optional_json(s.wall_s_left)},
          {"wall_limited_by", s.wall_limited_by},
          {"cpu_work_left_hs06s", optional_json(s.cpu_work_left_hs06s)},
          {"slots_total", s.slots_total},
          {"slots_busy", s.slots_busy},
          {"jobs", jobs},
          {"counters", counters_json(s.counters)},
          {"reports_pending", s.reports_pending}};
}

PilotStatus status_from_json(const json& j) {
  if (!j.is_object()) throw Error("pilot status: not a JSON object");
  PilotStatus s;
  s.pid = field<int>(j, "pid");
  s.version = field<std::string>(j, "version");
  s.host = field<std::string>(j, "host");
  s.site = field<std::string>(j, "site");
  s.source = field<std::string>(j, "source");
  s.pilot_reference = field<std::string>(j, "pilot_reference");
  s.started_at = field<double>(j, "started_at");
  s.updated_at = field<double>(j, "updated_at");
  s.period_s = field<double>(j, "period_s");
  s.state = enum_field(j, "state", kPilotStates, pilot_state_name);
  s.stop_reason = field<std::string>(j, "stop_reason");
  s.stop_detail = field<std::string>(j, "stop_detail");
  s.wall_s_left = optional_field<double>(j, "wall_s_left");
  s.wall_limited_by = field<std::vector<std::string>>(j, "wall_limited_by");
  s.cpu_work_left_hs06s = optional_field<double>(j, "cpu_work_left_hs06s");
  s.slots_total = field<int>(j, "slots_total");
  s.slots_busy = field<int>(j, "slots_busy");
  for (const auto& job : field<json>(j, "jobs")) s.jobs.push_back(job_from_json(job));
  s.counters = counters_from_json(field<json>(j, "counters"));
  s.reports_pending = field<std::int64_t>(j, "reports_pending");
  return s;
}

}  // namespace pilot::monitor
