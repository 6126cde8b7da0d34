#include "summary.hpp"

namespace pilot::agent {

nlohmann::json to_json(const AgentSummary& s) {
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& [name, secs] : s.phases) phases[name] = secs;
  double efficiency = s.processor_seconds > 0 ? s.cpu_seconds / s.processor_seconds : 0;
  return {{"jobs_matched", s.jobs_matched},
          {"jobs_started", s.jobs_started},
          {"jobs_succeeded", s.jobs_succeeded},
          {"jobs_failed", s.jobs_failed},
          {"jobs_rescheduled", s.jobs_rescheduled},
          {"jobs_interrupted", s.jobs_interrupted},
          {"jobs_recovered", s.jobs_recovered},
          {"jobs_adopted", s.jobs_adopted},
          {"events", s.events},
          {"cpu_seconds", s.cpu_seconds},
          {"cpu_efficiency", efficiency},
          {"elapsed_seconds", s.elapsed_seconds},
          {"stop_reason", stop_reason_text(s.stop)},
          {"stop_detail", s.stop_detail},
          {"reports_refused", s.reports_refused},
          {"phases", phases}};
}

void count_outcome(AgentSummary& summary, const FinalReport& fr) {
  (fr.success       ? summary.jobs_succeeded
   : fr.rescheduled ? summary.jobs_rescheduled
                    : summary.jobs_failed) += 1;
}

}  // namespace pilot::agent
