#include <catch2/catch.hpp>

#include "agent/loop_policy.hpp"

using pilot::agent::LoopLimits;
using pilot::agent::LoopPolicy;
using pilot::agent::StopReason;

TEST_CASE("stop after StopAfterFailedMatches consecutive failures, at least the pool size") {
  LoopLimits l;
  l.stop_after_failed_matches = 3;
  LoopPolicy p(l);
  for (int i = 0; i < 3; ++i) {
    CHECK(p.before_request({}) == StopReason::none);
    p.on_no_match();
  }
  CHECK(p.before_request({}) == StopReason::failed_matches);

  l.processors = 5;
  LoopPolicy pool(l);
  for (int i = 0; i < 4; ++i) pool.on_no_match();
  CHECK(pool.before_request({}) == StopReason::none);
  pool.on_no_match();
  CHECK(pool.before_request({}) == StopReason::failed_matches);
}

TEST_CASE("three consecutive host failures stop the pilot, a match resets them") {
  LoopPolicy p(LoopLimits{});
  p.on_host_failure();
  p.on_host_failure();
  p.on_match();
  p.on_host_failure();
  p.on_host_failure();
  CHECK(p.before_request({}) == StopReason::none);
  p.on_host_failure();
  CHECK(p.before_request({}) == StopReason::host_failures);
}

TEST_CASE("max jobs, filling mode and CPU work left apply from the second job on") {
  LoopLimits l;
  l.max_jobs = 2;
  LoopPolicy p(l);
  CHECK(p.before_request(100.0) == StopReason::none);  // the first job is always requested
  p.on_match();
  CHECK(p.before_request(100.0) == StopReason::no_cpu_work_left);
  CHECK(p.before_request(std::nullopt) == StopReason::none);
  CHECK(p.before_request(6000.0) == StopReason::none);
  p.on_match();
  CHECK(p.before_request(6000.0) == StopReason::max_jobs);

  l.max_jobs = 0;
  l.fill = false;
  LoopPolicy once(l);
  once.on_match();
  CHECK(once.before_request(1e9) == StopReason::filling_off);
  CHECK(std::string(pilot::agent::stop_reason_text(StopReason::filling_off)) ==
        "filling mode is off");
}
