#include "monitor/monitoring_records.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>

namespace pilot::monitor {
namespace {

std::int64_t epoch_ms(double seconds) {
  return std::llround(seconds * 1000);
}

nlohmann::json job_id_value(const std::string& id) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), n);
  if (ec == std::errc() && end == id.data() + id.size() && !id.empty()) return n;
  return id;
}

const JobView* find_view(const PilotStatus& status, const JobChange& change) {
  for (const auto& j : status.jobs)
    if (j.id == change.job_id) return &j;
  return change.last_view ? &*change.last_view : nullptr;
}

void add_figures(nlohmann::json& r, const JobView& v) {
  r["Processors"] = v.processors;
  r["CPUTime"] = v.cpu_s;
  r["WallClockTime"] = v.wall_s;
  if (v.memory_bytes) r["Memory"] = *v.memory_bytes;
  if (v.events_done) r["Events"] = *v.events_done;
}

// Who published: the same three fields in every record, so that records join on them.
nlohmann::json origin(const PilotStatus& s) {
  return {{"Site", s.site}, {"HostName", s.host}, {"PilotReference", s.pilot_reference}};
}

}  // namespace

nlohmann::json job_record(const PilotStatus& status, const JobChange& change) {
  nlohmann::json r = origin(status);
  r["JobID"] = job_id_value(change.job_id);
  r["Status"] = change.status;
  r["MinorStatus"] = change.minor_status;
  if (change.application_status) r["ApplicationStatus"] = *change.application_status;
  if (const JobView* v = find_view(status, change)) add_figures(r, *v);
  r["timestamp"] = epoch_ms(change.at);
  return r;
}

nlohmann::json pilot_record(const PilotStatus& s) {
  nlohmann::json r = origin(s);
  r["Version"] = s.version;
  r["State"] = pilot_state_name(s.state);
  if (!s.stop_reason.empty()) r["StopReason"] = s.stop_reason;
  r["SlotsTotal"] = s.slots_total;
  r["SlotsBusy"] = s.slots_busy;
  r["JobsRunning"] = s.jobs.size();
  if (s.wall_s_left) r["WallClockLeft"] = *s.wall_s_left;
  if (s.cpu_work_left_hs06s) r["CPUWorkLeft"] = *s.cpu_work_left_hs06s;
  r["Events"] = s.counters.events;
  nlohmann::json finished = nlohmann::json::object(), requests = nlohmann::json::object();
  for (JobOutcome o : kOutcomes) {
    auto it = s.counters.jobs_finished.find(o);
    finished[job_outcome_name(o)] = it == s.counters.jobs_finished.end() ? 0 : it->second;
  }
  for (RequestResult q : kResults) {
    auto it = s.counters.requests.find(q);
    requests[request_result_name(q)] = it == s.counters.requests.end() ? 0 : it->second;
  }
  r["JobsFinished"] = finished;
  r["Requests"] = requests;
  r["Heartbeats"] = s.counters.heartbeats;
  r["timestamp"] = epoch_ms(s.updated_at);
  return r;
}

}  // namespace pilot::monitor
