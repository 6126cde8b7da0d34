#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "monitor/status_file.hpp"

using namespace pilot::monitor;

TEST_CASE("status file: written and read back, absent as nullopt, garbage an error naming it") {
  pilot::TempDir dir("status");
  auto f = status_file_path(dir.path());
  CHECK(f.filename() == "pilot-status.json");
  CHECK(!read_status_file(f));
  PilotStatus s;
  s.pid = 77;
  s.host = "wn";
  s.slots_total = 8;
  write_status_file(f, s);
  auto back = read_status_file(f);
  REQUIRE(back);
  CHECK(back->pid == 77);
  CHECK(back->slots_total == 8);
  pilot::write_file_atomic(f, "{not json");
  CHECK_THROWS_WITH(read_status_file(f), Catch::Contains(f.string()) && Catch::Contains("JSON"));
  pilot::write_file_atomic(f, "{}");
  CHECK_THROWS_WITH(read_status_file(f), Catch::Contains(f.string()) && Catch::Contains("pid"));
}

TEST_CASE(
    "status file: stale once its pilot is gone or it stops being rewritten, never once ended") {
  PilotStatus s;
  s.pid = 77;
  s.updated_at = 1000;
  s.period_s = 5;
  s.state = PilotState::running;
  CHECK(!freshness(s, 1010, true).stale);
  CHECK(freshness(s, 1010, true).age_s == 10);
  auto dead = freshness(s, 1001, false);
  CHECK(dead.stale);
  CHECK_THAT(dead.why, Catch::Contains("pilot 77 is not running"));
  auto frozen = freshness(s, 1000 + 5 * kStalePeriods + 1, true);
  CHECK(frozen.stale);
  CHECK_THAT(frozen.why, Catch::Contains("not updated for 21 s"));
  s.state = PilotState::ended;
  CHECK(!freshness(s, 5000, false).stale);
}
