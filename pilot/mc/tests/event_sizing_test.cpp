#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "mc/event_sizing.hpp"

using pilot::mc::size_events;
using pilot::mc::SizingInputs;

namespace {
SizingInputs inputs(double time_left, double power, double cpue,
                    std::optional<std::int64_t> max = {}) {
  SizingInputs in;
  in.cpu_time_left_s = time_left;
  in.cpu_time_left_source = "test";
  in.cpu_power_hs06 = power;
  in.cpu_power_source = "test";
  in.cpue = cpue;
  in.max_events = max;
  return in;
}
}  // namespace

TEST_CASE("events = floor(floor(floor(T x P) / CPUe) x 0.8)") {
  // 3600 s x 10 HS06 = 36000 HS06 s; / 7 = 5142.857 -> 5142; x 0.8 = 4113.6 -> 4113
  auto s = size_events(inputs(3600, 10, 7));
  CHECK(s.cpu_time_s == 3600);
  CHECK(s.events_fit == 5142);
  CHECK(s.events == 4113);
  CHECK_FALSE(s.capped);
  // floor(T x P) before dividing: 10.9 s x 1 HS06 = 10.9 -> 10; / 1 = 10 -> 8
  CHECK(size_events(inputs(10.9, 1, 1)).events == 8);
}

TEST_CASE("the CPU time is capped at 24 h") {
  auto s = size_events(inputs(200000, 1, 100));
  CHECK(s.cpu_time_s == 86400);
  CHECK(s.events == 691);  // 864 x 0.8 = 691.2
}

TEST_CASE("MaxNumberOfEvents caps the result when it is smaller") {
  auto s = size_events(inputs(3600, 10, 7, 500));
  CHECK(s.events == 500);
  CHECK(s.capped);
  CHECK(size_events(inputs(3600, 10, 7, 100000)).events == 4113);
  CHECK(size_events(inputs(3600, 10, 7, 0)).events == 4113);  // 0: no cap
}

TEST_CASE("fewer than one event is 'No time left to produce events'") {
  CHECK_THROWS_WITH(size_events(inputs(1, 1, 1)), "No time left to produce events");  // 1 x 0.8
  CHECK_THROWS_WITH(size_events(inputs(-50, 10, 1)), "No time left to produce events");
  CHECK_THROWS_WITH(size_events(inputs(0, 10, 1)), "No time left to produce events");
}

TEST_CASE("inputs that cannot be sized are clear errors") {
  CHECK_THROWS_WITH(size_events(inputs(3600, 10, 0)), Catch::Contains("CPUe"));
  CHECK_THROWS_WITH(size_events(inputs(3600, 0, 5)), Catch::Contains("CPU power"));
  CHECK_THROWS_AS(size_events(inputs(3600, 10, 5, -1)), pilot::Error);
}

TEST_CASE("the sizing record has every input, its source and the result") {
  auto j = pilot::mc::to_json(size_events(inputs(3600, 10, 7, 500)));
  CHECK(j["cpu_time_left_source"] == "test");
  CHECK(j["cpu_power_hs06"] == 10.0);
  CHECK(j["cpue_hs06s"] == 7.0);
  CHECK(j["max_events"] == 500);
  CHECK(j["events"] == 500);
  CHECK(j["safety_factor"] == 0.8);
}
