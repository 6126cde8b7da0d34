#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "monitor/pilot_status.hpp"

using namespace pilot::monitor;

namespace {

PilotStatus sample() {
  PilotStatus s;
  s.pid = 4242;
  s.version = "1.2.3";
  s.host = "wn01.example.org";
  s.site = "LCG.Example.org";
  s.source = "DIRAC dips://dirac.example.org:9170";
  s.pilot_reference = "slurm://wn01/1234";
  s.started_at = 1.7e9;
  s.updated_at = 1.7e9 + 60;
  s.state = PilotState::running;
  s.wall_s_left = 3600;
  s.wall_limited_by = {"MJF jobfeatures"};
  s.slots_total = 4;
  s.slots_busy = 2;
  JobView mc;
  mc.id = "1001";
  mc.state = JobState::running;
  mc.processors = 2;
  mc.started_at = 1.7e9 + 10;
  mc.cpu_s = 95.5;
  mc.wall_s = 50;
  mc.memory_bytes = 512 << 20;
  mc.mc = true;
  mc.events_done = 120;
  mc.events_planned = 400;
  mc.minor_status = "Application";
  s.jobs.push_back(mc);
  s.counters.jobs_finished[JobOutcome::succeeded] = 3;
  s.counters.requests[RequestResult::match] = 4;
  s.counters.requests[RequestResult::no_match] = 1;
  s.counters.request_latency.observe(0.2);
  s.counters.request_latency.observe(45);
  s.counters.events = 900;
  s.counters.heartbeats = 7;
  s.reports_pending = 2;
  return s;
}

}  // namespace

TEST_CASE("status: the JSON form reads back to the same status, unknown figures as null") {
  auto s = sample();
  auto j = to_json(s);
  CHECK(j["cpu_work_left_hs06s"].is_null());
  CHECK(j["state"] == "running");
  CHECK(j["jobs"][0]["state"] == "running");
  CHECK(j["counters"]["jobs_finished"]["failed"] == 0);
  auto back = status_from_json(j);
  CHECK(to_json(back) == j);
  CHECK(back.jobs.at(0).events_planned == 400);
  CHECK(!back.cpu_work_left_hs06s);
}

TEST_CASE("status: a latency histogram is cumulative, +Inf counting every request") {
  LatencyHistogram h;
  h.observe(0.01);
  h.observe(0.3);
  h.observe(500);
  CHECK(h.counts[0] == 1);                               // <= 0.05
  CHECK(h.counts[3] == 2);                               // <= 0.5
  CHECK(h.counts[LatencyHistogram::kBuckets - 2] == 2);  // <= 120
  CHECK(h.total() == 3);
  CHECK(h.sum_s == Approx(500.31));
}

TEST_CASE("status: a document that is not a status is an error naming the field") {
  auto j = to_json(sample());
  j.erase("slots_total");
  CHECK_THROWS_WITH(status_from_json(j), Catch::Contains("slots_total"));
  j = to_json(sample());
  j["state"] = "dancing";
  CHECK_THROWS_WITH(status_from_json(j), Catch::Contains("state") && Catch::Contains("dancing"));
  j = to_json(sample());
  j["jobs"][0]["processors"] = "two";
  CHECK_THROWS_WITH(status_from_json(j), Catch::Contains("processors"));
  CHECK_THROWS_AS(status_from_json(nlohmann::json::array()), pilot::Error);
}

TEST_CASE("status: every state has one name") {
  for (auto s : {PilotState::starting, PilotState::running, PilotState::stopping,
                 PilotState::reclaimed, PilotState::ended})
    CHECK(pilot_state_from_name(pilot_state_name(s)) == s);
  for (auto s : {JobState::preparing, JobState::running, JobState::stopping})
    CHECK(job_state_from_name(job_state_name(s)) == s);
}
