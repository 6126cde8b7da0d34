#include <catch2/catch.hpp>

#include "monitor/status_text.hpp"

using namespace pilot::monitor;

TEST_CASE("status text: durations, sizes and progress as a person reads them") {
  CHECK(human_duration(0) == "0 s");
  CHECK(human_duration(45.4) == "45 s");
  CHECK(human_duration(185) == "3 min 05 s");
  CHECK(human_duration(3720) == "1 h 02 min");
  CHECK(human_duration(2 * 86400 + 3 * 3600) == "2 d 03 h");
  CHECK(human_bytes(980) == "980 B");
  CHECK(human_bytes(512LL << 20) == "512 MiB");
  CHECK(human_bytes(1536LL << 20) == "1.5 GiB");
  CHECK(progress_bar(200, 400, 10) == "[#####.....]  50 %  200/400");
  CHECK(progress_bar(0, 0, 4) == "[....]   0 %  0/0");
  CHECK(progress_bar(500, 400, 4) == "[####] 100 %  500/400");
}

TEST_CASE("status text: a running pilot with an MC job, and nothing printed as -1") {
  PilotStatus s;
  s.pid = 4242;
  s.version = "1.0";
  s.host = "wn01";
  s.site = "LCG.Example.org";
  s.source = "queue /srv/q";
  s.started_at = 1000;
  s.updated_at = 1000 + 3725;
  s.state = PilotState::running;
  s.slots_total = 4;
  s.slots_busy = 2;
  JobView j;
  j.id = "1001";
  j.state = JobState::running;
  j.processors = 2;
  j.cpu_s = 95;
  j.wall_s = 50;
  j.memory_bytes = 512LL << 20;
  j.mc = true;
  j.events_done = 120;
  j.events_planned = 400;
  s.jobs.push_back(j);
  s.counters.jobs_finished[JobOutcome::succeeded] = 3;
  auto text = render_status(s, Freshness{false, 2, ""});
  INFO(text);
  CHECK_THAT(text, Catch::StartsWith(
                       "pilot 4242 on wn01 (LCG.Example.org), version 1.0, up 1 h 02 min\n"));
  CHECK_THAT(text, Catch::Contains("  state     running\n"));
  CHECK_THAT(text, Catch::Contains("  budget    wall time left not known\n"));
  CHECK_THAT(text, Catch::Contains("  slots     2 of 4 processors busy\n"));
  CHECK_THAT(text, Catch::Contains("3 succeeded, 0 failed, 0 rescheduled"));
  CHECK_THAT(text, Catch::Contains("1001"));
  CHECK_THAT(text, Catch::Contains("1 min 35 s"));
  CHECK_THAT(text, Catch::Contains("512 MiB"));
  CHECK_THAT(text, Catch::Contains("[######..............]  30 %  120/400"));
  CHECK_THAT(text, !Catch::Contains("-1"));
  CHECK_THAT(text, !Catch::Contains("STALE"));
}

TEST_CASE("status text: a stale status says so first, with its last state") {
  PilotStatus s;
  s.pid = 9;
  s.host = "wn";
  s.state = PilotState::running;
  auto text = render_status(s, Freshness{true, 130, "pilot 9 is not running"});
  CHECK_THAT(text, Catch::StartsWith(
                       "STALE: pilot 9 is not running; last written 2 min 10 s ago, when it was "
                       "running\n"));
}
