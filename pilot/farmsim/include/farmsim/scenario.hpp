#pragma once
// One simulated farm start (issue 18): N nodes of S slots, each running one pilot, against one
// DIRAC Matcher; the jobs waiting for them; an optional outage of the Matcher; and the request
// policies compared. Plain data: cli.hpp fills it from the command line, simulation.hpp runs it.
//
// Times are seconds of simulated time, t = 0 at the first pilot's start. The defaults are the LHCb
// HLT farm handed to offline processing; `ScenarioKind::hlt` adds the settings the HLT farm's
// slot unit gives our pilot.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "agent/loop_policy.hpp"
#include "agent/request_pacing.hpp"

namespace pilot::farmsim {

// The request policies compared: ours (RequestPacing's jitter kind) and DIRAC's JobAgent.
enum class Policy { ours, dirac };
const char* policy_name(Policy p);
std::optional<Policy> policy_from_name(std::string_view name);  // nullopt: not a policy_name

enum class ServiceDist { constant, exponential, lognormal };
const char* service_dist_name(ServiceDist d);  // "const", "exp", "lognormal"
std::optional<ServiceDist> service_dist_from_name(std::string_view name);

enum class ScenarioKind { standard, hlt, hlt_outage };
const char* scenario_name(ScenarioKind k);  // "default", "hlt", "hlt-outage"
std::optional<ScenarioKind> scenario_from_name(std::string_view name);

struct ProcessorShare {
  int processors = 1;
  double weight = 1;
};

// Every request fails while the Matcher is down, and those it holds when it goes down.
struct Outage {
  double start_s = 0;
  double duration_s = 0;
  double end_s() const { return start_s + duration_s; }
};

// One policy's pilot: when it asks (RequestPacing) and when it stops (LoopPolicy).
// loop.processors is the node's slot count at run time, whatever it says here.
struct PolicySettings {
  agent::PacingLimits pacing;
  agent::LoopLimits loop;
};

struct Scenario {
  ScenarioKind kind = ScenarioKind::standard;
  std::uint64_t seed = 1;
  int nodes = 4500;
  int slots_per_node = 64;
  std::optional<std::int64_t> backlog;  // jobs waiting at t = 0; nullopt: twice the slots
  double job_min_s = 3600;              // job lengths, uniform in [min, max]
  double job_max_s = 28800;
  std::vector<ProcessorShare> processors_mix{{1, 1}};
  int matcher_workers = 20;
  double service_s = 0.4;  // mean service time of one request
  ServiceDist service_dist = ServiceDist::constant;
  double service_cv = 0;  // lognormal only
  double client_timeout_s = 120;
  std::optional<Outage> outage;
  // A job matched to a request whose pilot had given up comes back after this (DIRAC's
  // StalledJobAgent, MatchedTime).
  double matched_reschedule_s = 7200;
  double start_within_s = 10;  // pilots start uniformly within this
  double duration_s = 21600;
  int step_s = 10;  // the series' step, whole seconds
  std::vector<Policy> policies{Policy::ours, Policy::dirac};
  PolicySettings ours;
  PolicySettings dirac;

  std::int64_t slots() const { return std::int64_t{nodes} * slots_per_node; }
  std::int64_t backlog_jobs() const { return backlog.value_or(2 * slots()); }
  double capacity_per_s() const { return matcher_workers / service_s; }
  // The fastest fill the Matcher allows: one answered request per slot at full capacity.
  double fill_bound_s() const { return static_cast<double>(slots()) / capacity_per_s(); }
  bool multi_processor() const;  // some job needs more than one processor
  const PolicySettings& settings(Policy p) const { return p == Policy::ours ? ours : dirac; }
};

// The scenario's defaults: PacingLimits and LoopLimits defaults for both policies (kind jitter for
// ours, dirac for DIRAC's), and for hlt and hlt-outage what the HLT slot unit sets for ours (a
// 240 s start spread, errors backing off from 120 s to 480 s, 1000 host failures: it keeps
// retrying through an outage); hlt-outage adds a 600 s outage 30 minutes in.
Scenario preset(ScenarioKind kind);

// Throws pilot::Error naming the flag of the first parameter out of range (e.g. "--service-s:
// must be > 0, got -1"), and of combinations that cannot run (a job larger than a node, a
// retry that never waits).
void validate(const Scenario& s);

}  // namespace pilot::farmsim
