#include <catch2/catch.hpp>

#include "agent/loop_policy.hpp"
#include "farmsim/report.hpp"
#include "farmsim/simulation.hpp"

using namespace pilot::farmsim;

namespace {

// Jobs that outlast every run here, so a slot once filled stays busy.
Scenario small_farm(int nodes, int slots) {
  Scenario s = preset(ScenarioKind::standard);
  s.nodes = nodes;
  s.slots_per_node = slots;
  s.job_min_s = s.job_max_s = 1e6;
  s.start_within_s = 0;
  return s;
}

std::string failed_matches() {
  return pilot::agent::stop_reason_text(pilot::agent::StopReason::failed_matches);
}

}  // namespace

TEST_CASE("one pilot without contention fills at its rate limit, each answer one service time") {
  Scenario s = small_farm(1, 64);
  s.backlog = 64;
  s.matcher_workers = 100;
  s.service_s = 0.4;
  s.ours.pacing.max_requests_per_s = 2;  // 0.5 s apart, longer than the service time
  s.duration_s = 100;
  s.step_s = 1;
  Summary m = simulate(s, Policy::ours);
  REQUIRE(m.time_to_99_s);
  // 64 requests 0.5 s apart, the last answered 0.4 s after it left: 63 x 0.5 + 0.4.
  CHECK(*m.time_to_99_s == Approx(64 / 2.0).margin(0.5));
  CHECK(*m.time_to_99_s == Approx(31.9));
  CHECK(m.requests == 64);
  CHECK(m.matches == 64);
  CHECK(*m.latency_p50_s == Approx(0.4));
  CHECK(*m.latency_p99_s == Approx(0.4));
  CHECK(m.timeouts == 0);
  CHECK(m.series.size() == 100);
  CHECK(m.series.back().busy_slots == 64);
}

TEST_CASE("many pilots fill the farm at the Matcher's capacity, one request per match") {
  Scenario s = small_farm(100, 20);  // 2000 slots
  s.backlog = 4000;
  s.matcher_workers = 2;
  s.service_s = 0.1;  // 20 requests/s: the fill bound is 100 s
  s.duration_s = 400;
  REQUIRE(s.fill_bound_s() == Approx(100));
  Summary m = simulate(s, Policy::ours);
  REQUIRE(m.fill_ratio_99);
  // 99 % of the slots takes 0.99 of the bound at the very least.
  CHECK(*m.fill_ratio_99 >= Approx(0.99));
  CHECK(*m.fill_ratio_99 <= 1.03);
  CHECK(*m.requests_per_match == Approx(1).margin(0.01));
  CHECK(m.timeouts == 0);
}

TEST_CASE("requests the pilots gave up on are still served and their jobs come back later") {
  Scenario s = small_farm(200, 4);
  s.backlog = 2000;
  s.matcher_workers = 1;
  s.service_s = 1;  // 1 request/s against 200 pilots: queueing far beyond the time-out
  s.client_timeout_s = 30;
  s.ours.loop.max_host_failures = 1000;  // the pilots keep asking
  s.duration_s = 400;
  s.matched_reschedule_s = 100;
  Summary m = simulate(s, Policy::ours);
  CHECK(m.timeouts > 0);
  CHECK(m.mean_utilisation == Approx(1).margin(0.005));  // the work is done all the same
  for (const auto& point : m.series) CHECK(point.utilisation == Approx(1).margin(0.01));
  CHECK(m.lost_to_timeouts > 0);
  CHECK(m.jobs_returned > 0);
  CHECK(m.jobs_returned <= m.lost_to_timeouts);
  CHECK(m.pilots_stopped.empty());

  s.matched_reschedule_s = 1000;  // after the run's end
  Summary later = simulate(s, Policy::ours);
  CHECK(later.lost_to_timeouts > 0);
  CHECK(later.jobs_returned == 0);
}

TEST_CASE("an outage refuses every request: our pilots come back and DIRAC's stop") {
  Scenario s = small_farm(50, 2);
  s.job_min_s = 100;
  s.job_max_s = 200;
  s.backlog = 10000;
  s.matcher_workers = 10;
  s.service_s = 0.05;
  s.outage = Outage{300, 600};
  s.duration_s = 1500;
  s.ours.loop.stop_after_failed_matches = s.dirac.loop.stop_after_failed_matches = 3;
  s.ours.loop.max_host_failures = 1000;
  Summary ours = simulate(s, Policy::ours);
  Summary dirac = simulate(s, Policy::dirac);
  for (const auto* m : {&ours, &dirac}) {
    CHECK(m->refused > 0);
    for (const auto& point : m->series)
      if (point.t >= 300 && point.t + s.step_s <= 900) CHECK(point.served_per_s == 0);
  }
  CHECK(ours.pilots_stopped.empty());
  REQUIRE(ours.recovery_s);
  CHECK(*ours.recovery_s <= s.ours.pacing.error_cap_s);
  // 80 s, 120 s, then 160 s after its first failure: a DIRAC pilot fails three times and stops.
  REQUIRE(dirac.pilots_stopped.count(failed_matches()));
  CHECK(dirac.pilots_stopped.at(failed_matches()) > 0);
  CHECK(!dirac.recovery_s);  // the stopped pilots' slots stay idle
}

TEST_CASE("multi-processor jobs with several requests out never over-commit a node") {
  Scenario s = small_farm(20, 8);
  s.job_min_s = 30;
  s.job_max_s = 90;
  s.processors_mix = {{1, 2}, {4, 1}, {8, 1}};
  s.ours.pacing.max_in_flight = 4;
  s.matcher_workers = 4;
  s.duration_s = 600;
  s.step_s = 1;
  Summary m;
  // Slots::take throws for a job that does not fit: the run finishing is the check.
  REQUIRE_NOTHROW(m = simulate(s, Policy::ours));
  CHECK(m.matches > 20);
  CHECK(m.declined > 0);  // answers to earlier requests took what a later one offered
  for (const auto& point : m.series) CHECK(point.busy_slots <= s.slots());
}

TEST_CASE("no outage, no recovery time") {
  Scenario s = small_farm(10, 4);
  s.duration_s = 200;
  CHECK(!simulate(s, Policy::ours).recovery_s);
}

TEST_CASE("the same seed gives the same report, another seed another") {
  Scenario s = preset(ScenarioKind::standard);
  s.nodes = 30;
  s.slots_per_node = 8;
  s.job_min_s = 50;
  s.job_max_s = 400;
  s.matcher_workers = 2;
  s.service_dist = ServiceDist::lognormal;
  s.service_cv = 1;
  s.ours.pacing.start_spread_s = 20;
  s.duration_s = 2000;
  auto report = [](const Scenario& sc) {
    std::vector<PolicyRun> runs;
    for (auto p : sc.policies) runs.push_back({p, simulate(sc, p)});
    return report_json(sc, runs).dump();
  };
  std::string first = report(s);
  CHECK(report(s) == first);
  s.seed = 2;
  CHECK(report(s) != first);
}

TEST_CASE("a scenario out of range is refused before it runs") {
  Scenario s = small_farm(1, 4);
  s.processors_mix = {{8, 1}};
  CHECK_THROWS_WITH(simulate(s, Policy::ours), Catch::Contains("--processors-mix"));
}
