#include "farmsim/scenario.hpp"

#include <sstream>
#include <string>

#include "core/error.hpp"

namespace pilot::farmsim {

const char* policy_name(Policy p) {
  switch (p) {
    case Policy::ours:
      return "ours";
    case Policy::dirac:
      return "dirac";
  }
  return "?";
}

std::optional<Policy> policy_from_name(std::string_view name) {
  for (auto p : {Policy::ours, Policy::dirac})
    if (name == policy_name(p)) return p;
  return std::nullopt;
}

const char* service_dist_name(ServiceDist d) {
  switch (d) {
    case ServiceDist::constant:
      return "const";
    case ServiceDist::exponential:
      return "exp";
    case ServiceDist::lognormal:
      return "lognormal";
  }
  return "?";
}

std::optional<ServiceDist> service_dist_from_name(std::string_view name) {
  for (auto d : {ServiceDist::constant, ServiceDist::exponential, ServiceDist::lognormal})
    if (name == service_dist_name(d)) return d;
  return std::nullopt;
}

const char* scenario_name(ScenarioKind k) {
  switch (k) {
    case ScenarioKind::standard:
      return "default";
    case ScenarioKind::hlt:
      return "hlt";
    case ScenarioKind::hlt_outage:
      return "hlt-outage";
  }
  return "?";
}

std::optional<ScenarioKind> scenario_from_name(std::string_view name) {
  for (auto k : {ScenarioKind::standard, ScenarioKind::hlt, ScenarioKind::hlt_outage})
    if (name == scenario_name(k)) return k;
  return std::nullopt;
}

bool Scenario::multi_processor() const {
  for (const auto& share : processors_mix)
    if (share.processors > 1) return true;
  return false;
}

Scenario preset(ScenarioKind kind) {
  Scenario s;
  s.kind = kind;
  s.ours.pacing.kind = agent::PacingKind::jitter;
  s.dirac.pacing.kind = agent::PacingKind::dirac;
  if (kind == ScenarioKind::standard) return s;
  // What bootstrap/pilot-slot.service sets (PILOT_SLOT_PACING; farmsim_tests checks they agree).
  s.ours.pacing.start_spread_s = 240;
  s.ours.pacing.error_base_s = 120;
  s.ours.pacing.error_cap_s = 480;
  s.ours.loop.max_host_failures = 1000;
  if (kind == ScenarioKind::hlt_outage) s.outage = Outage{1800, 600};
  return s;
}

namespace {

std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void require(bool ok, const char* flag, const char* rule, double got) {
  if (!ok) throw Error(std::string(flag) + ": must be " + rule + ", got " + text(got));
}

void validate_farm(const Scenario& s) {
  require(s.nodes >= 1, "--nodes", ">= 1", s.nodes);
  require(s.slots_per_node >= 1, "--slots-per-node", ">= 1", s.slots_per_node);
  require(s.backlog_jobs() >= 0, "--backlog", ">= 0", static_cast<double>(s.backlog_jobs()));
  require(s.job_min_s > 0, "--job-s", "MIN > 0", s.job_min_s);
  require(s.job_max_s >= s.job_min_s, "--job-s", "MAX >= MIN", s.job_max_s);
  if (s.processors_mix.empty())
    throw Error("--processors-mix: needs at least one PROCESSORS:WEIGHT");
  for (const auto& share : s.processors_mix) {
    require(share.processors >= 1, "--processors-mix", "PROCESSORS >= 1", share.processors);
    require(share.processors <= s.slots_per_node, "--processors-mix",
            "PROCESSORS <= --slots-per-node", share.processors);
    require(share.weight > 0, "--processors-mix", "WEIGHT > 0", share.weight);
  }
  require(s.start_within_s >= 0, "--start-within-s", ">= 0", s.start_within_s);
  require(s.duration_s > 0, "--duration-s", "> 0", s.duration_s);
  require(s.step_s >= 1, "--step-s", ">= 1", s.step_s);
}

void validate_matcher(const Scenario& s) {
  require(s.matcher_workers >= 1, "--matcher-workers", ">= 1", s.matcher_workers);
  require(s.service_s > 0, "--service-s", "> 0", s.service_s);
  if (s.service_dist == ServiceDist::lognormal)
    require(s.service_cv > 0, "--service-dist", "lognormal:CV with CV > 0", s.service_cv);
  require(s.client_timeout_s > 0, "--client-timeout-s", "> 0", s.client_timeout_s);
  require(s.matched_reschedule_s >= 0, "--matched-reschedule-s", ">= 0", s.matched_reschedule_s);
  if (s.outage) {
    require(s.outage->start_s >= 0, "--outage", "START >= 0", s.outage->start_s);
    require(s.outage->duration_s > 0, "--outage", "DURATION > 0", s.outage->duration_s);
  }
}

void validate_pacing(const agent::PacingLimits& p) {
  require(p.start_spread_s >= 0, "--start-spread-s", ">= 0", p.start_spread_s);
  require(p.no_match_base_s >= 0, "--no-match-base-s", ">= 0", p.no_match_base_s);
  require(p.no_match_cap_s >= 0, "--no-match-cap-s", ">= 0", p.no_match_cap_s);
  require(p.error_base_s >= 0, "--error-base-s", ">= 0", p.error_base_s);
  require(p.error_cap_s >= 0, "--error-cap-s", ">= 0", p.error_cap_s);
  require(p.max_in_flight >= 1, "--max-in-flight", ">= 1", p.max_in_flight);
  require(p.max_requests_per_s >= 0, "--max-requests-per-s", ">= 0", p.max_requests_per_s);
  require(p.polling_s > 0, "--polling-s", "> 0", p.polling_s);
  // A refused request is answered at once: without a wait after it, a pilot would retry within
  // the same instant for the whole outage.
  bool no_error_wait = p.error_base_s == 0 || p.error_cap_s == 0;
  if (p.kind == agent::PacingKind::jitter && no_error_wait && p.max_requests_per_s == 0)
    throw Error(
        "--error-base-s/--error-cap-s: 0 with --max-requests-per-s 0 lets a pilot retry a "
        "refused request without ever waiting");
}

void validate_loop(const agent::LoopLimits& l) {
  require(l.stop_after_failed_matches >= 1, "--stop-after-failed-matches", ">= 1",
          l.stop_after_failed_matches);
  require(l.max_host_failures >= 1, "--max-host-failures", ">= 1", l.max_host_failures);
}

}  // namespace

void validate(const Scenario& s) {
  validate_farm(s);
  validate_matcher(s);
  if (s.policies.empty()) throw Error("--policy: no policy to run");
  for (const auto* settings : {&s.ours, &s.dirac}) {
    validate_pacing(settings->pacing);
    validate_loop(settings->loop);
  }
}

}  // namespace pilot::farmsim
