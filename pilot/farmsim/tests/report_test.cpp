#include <catch2/catch.hpp>

#include "farmsim/report.hpp"
#include "farmsim/simulation.hpp"

using namespace pilot::farmsim;

namespace {

Scenario tiny() {
  Scenario s = preset(ScenarioKind::standard);
  s.nodes = 10;
  s.slots_per_node = 4;
  s.job_min_s = 50;
  s.job_max_s = 100;
  s.matcher_workers = 1;
  s.duration_s = 300;
  return s;
}

std::vector<std::string> keys(const nlohmann::ordered_json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) out.push_back(k);
  return out;
}

}  // namespace

TEST_CASE("the JSON report has the schema the benchmark reads, only the policies run") {
  Scenario s = tiny();
  s.policies = {Policy::dirac};
  auto j = report_json(s, {{Policy::dirac, simulate(s, Policy::dirac)}});
  CHECK(keys(j) == std::vector<std::string>{"parameters", "capacity_per_s", "slots", "fill_bound_s",
                                            "policies"});
  CHECK(j["capacity_per_s"] == 2.5);
  CHECK(j["slots"] == 40);
  CHECK(j["fill_bound_s"] == 16.0);
  CHECK(keys(j["policies"]) == std::vector<std::string>{"dirac"});
  const auto& m = j["policies"]["dirac"];
  CHECK(keys(m) == std::vector<std::string>{"time_to_50_s", "time_to_90_s", "time_to_99_s",
                                            "fill_ratio_99", "latency_p50_s", "latency_p99_s",
                                            "requests", "matches", "requests_per_match", "timeouts",
                                            "lost_to_timeouts", "idle_slot_hours",
                                            "max_offered_ratio_10s", "mean_utilisation",
                                            "recovery_s", "pilots_stopped", "series"});
  CHECK(m["recovery_s"].is_null());  // no outage
  CHECK(m["pilots_stopped"].is_object());
  REQUIRE(m["series"].size() == 30);  // 300 s in steps of 10
  CHECK(keys(m["series"][0]) == std::vector<std::string>{"t", "busy_slots", "offered_per_s",
                                                         "served_per_s", "utilisation"});
  CHECK(m["series"][1]["t"] == 10.0);
}

TEST_CASE("the parameters: every one, each policy's pacing and stop rules") {
  Scenario s = preset(ScenarioKind::hlt_outage);
  auto p = parameters_json(s);
  CHECK(p["scenario"] == "hlt-outage");
  CHECK(p["outage"]["start_s"] == 1800.0);
  CHECK(p["backlog"] == 576000);
  CHECK(p["ours"]["pacing"]["kind"] == "jitter");
  CHECK(p["ours"]["pacing"]["start_spread_s"] == 240.0);
  CHECK(p["ours"]["loop"]["max_host_failures"] == 1000);
  CHECK(p["ours"]["loop"]["processors"] == 64);
  CHECK(p["dirac"]["pacing"]["kind"] == "dirac");
  std::string text = parameters_text(s);
  CHECK_THAT(text, Catch::Contains("ours.pacing.start_spread_s: 240"));
  CHECK_THAT(text, Catch::Contains("outage.duration_s: 600"));
}

TEST_CASE("the table shows the policies side by side, stops by reason") {
  Scenario s = tiny();
  // The pool rule allows a DIRAC pilot 4 failures (its slots): 80 + 120 + 160 + 200 s apart.
  s.duration_s = 900;
  s.outage = Outage{50, 700};
  s.dirac.loop.stop_after_failed_matches = 1;
  std::vector<PolicyRun> runs;
  for (auto p : s.policies) runs.push_back({p, simulate(s, p)});
  std::string table = summary_table(s, runs);
  CHECK_THAT(table, Catch::Contains("ours"));
  CHECK_THAT(table, Catch::Contains("dirac"));
  CHECK_THAT(table, Catch::Contains("time to 99 % busy (s)"));
  CHECK_THAT(table, Catch::Contains("too many consecutive failed matches"));
}
