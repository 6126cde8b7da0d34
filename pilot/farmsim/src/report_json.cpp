#include "farmsim/report.hpp"

#include <cerrno>
#include <fstream>

#include "core/error.hpp"

namespace pilot::farmsim {

namespace {

using nlohmann::ordered_json;

ordered_json optional_number(const std::optional<double>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json pacing_json(const agent::PacingLimits& p) {
  return {{"kind", agent::pacing_name(p.kind)},
          {"start_spread_s", p.start_spread_s},
          {"no_match_base_s", p.no_match_base_s},
          {"no_match_cap_s", p.no_match_cap_s},
          {"error_base_s", p.error_base_s},
          {"error_cap_s", p.error_cap_s},
          {"max_in_flight", p.max_in_flight},
          {"max_requests_per_s", p.max_requests_per_s},
          {"congestion_latency_s", p.congestion_latency_s},
          {"congestion_factor", p.congestion_factor},
          {"polling_s", p.polling_s}};
}

ordered_json loop_json(const agent::LoopLimits& l, int processors) {
  return {{"stop_after_failed_matches", l.stop_after_failed_matches},
          {"max_host_failures", l.max_host_failures},
          {"max_jobs", l.max_jobs},
          {"fill", l.fill},
          {"processors", processors}};
}

ordered_json policy_settings_json(const PolicySettings& p, int processors) {
  return {{"pacing", pacing_json(p.pacing)}, {"loop", loop_json(p.loop, processors)}};
}

ordered_json series_json(const std::vector<SeriesPoint>& series) {
  ordered_json out = ordered_json::array();
  for (const auto& p : series)
    out.push_back({{"t", p.t},
                   {"busy_slots", p.busy_slots},
                   {"offered_per_s", p.offered_per_s},
                   {"served_per_s", p.served_per_s},
                   {"utilisation", p.utilisation}});
  return out;
}

ordered_json mix_json(const std::vector<ProcessorShare>& mix) {
  ordered_json out = ordered_json::array();
  for (const auto& share : mix)
    out.push_back({{"processors", share.processors}, {"weight", share.weight}});
  return out;
}

ordered_json outage_json(const std::optional<Outage>& outage) {
  if (!outage) return nullptr;
  return {{"start_s", outage->start_s}, {"duration_s", outage->duration_s}};
}

ordered_json policies_json(const std::vector<Policy>& policies) {
  ordered_json out = ordered_json::array();
  for (auto p : policies) out.push_back(policy_name(p));
  return out;
}

}  // namespace

ordered_json parameters_json(const Scenario& s) {
  return {{"scenario", scenario_name(s.kind)},
          {"seed", s.seed},
          {"nodes", s.nodes},
          {"slots_per_node", s.slots_per_node},
          {"backlog", s.backlog_jobs()},
          {"job_min_s", s.job_min_s},
          {"job_max_s", s.job_max_s},
          {"processors_mix", mix_json(s.processors_mix)},
          {"matcher_workers", s.matcher_workers},
          {"service_s", s.service_s},
          {"service_dist", service_dist_name(s.service_dist)},
          {"service_cv", s.service_dist == ServiceDist::lognormal ? ordered_json(s.service_cv)
                                                                  : ordered_json(nullptr)},
          {"client_timeout_s", s.client_timeout_s},
          {"outage", outage_json(s.outage)},
          {"matched_reschedule_s", s.matched_reschedule_s},
          {"start_within_s", s.start_within_s},
          {"duration_s", s.duration_s},
          {"step_s", s.step_s},
          {"policies", policies_json(s.policies)},
          {"ours", policy_settings_json(s.ours, s.slots_per_node)},
          {"dirac", policy_settings_json(s.dirac, s.slots_per_node)}};
}

ordered_json summary_json(const Summary& m) {
  ordered_json stopped = ordered_json::object();
  for (const auto& [reason, n] : m.pilots_stopped) stopped[reason] = n;
  return {{"time_to_50_s", optional_number(m.time_to_50_s)},
          {"time_to_90_s", optional_number(m.time_to_90_s)},
          {"time_to_99_s", optional_number(m.time_to_99_s)},
          {"fill_ratio_99", optional_number(m.fill_ratio_99)},
          {"latency_p50_s", optional_number(m.latency_p50_s)},
          {"latency_p99_s", optional_number(m.latency_p99_s)},
          {"requests", m.requests},
          {"matches", m.matches},
          {"requests_per_match", optional_number(m.requests_per_match)},
          {"timeouts", m.timeouts},
          {"lost_to_timeouts", m.lost_to_timeouts},
          {"idle_slot_hours", m.idle_slot_hours},
          {"max_offered_ratio_10s", optional_number(m.max_offered_ratio_10s)},
          {"mean_utilisation", m.mean_utilisation},
          {"recovery_s", optional_number(m.recovery_s)},
          {"pilots_stopped", stopped},
          {"series", series_json(m.series)}};
}

ordered_json report_json(const Scenario& s, const std::vector<PolicyRun>& runs) {
  ordered_json policies = ordered_json::object();
  for (const auto& run : runs) policies[policy_name(run.policy)] = summary_json(run.summary);
  return {{"parameters", parameters_json(s)},
          {"capacity_per_s", s.capacity_per_s()},
          {"slots", s.slots()},
          {"fill_bound_s", s.fill_bound_s()},
          {"policies", policies}};
}

void write_json(const std::string& path, const ordered_json& report) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw_errno("cannot write " + path, errno);
  out << report.dump(2) << "\n";
  out.close();
  if (!out) throw_errno("cannot write " + path, errno);
}

}  // namespace pilot::farmsim
