#include <catch2/catch.hpp>

#include "mc/cpu_limit.hpp"

using pilot::mc::cpu_limit_reached;
using pilot::mc::cpu_limit_stop;
using pilot::mc::CpuRate;
using namespace std::chrono_literals;

TEST_CASE(
    "cpu_limit_reached: stops once grace + period at the current rate would reach the limit") {
  // limit 100 s, grace 10 s, period 5 s, one core: stop from 85 s on
  CHECK_FALSE(cpu_limit_reached(84.9, 1, 100, 10, 5));
  CHECK(cpu_limit_reached(85, 1, 100, 10, 5));
  // four cores burn four times as much in the same wall time
  CHECK_FALSE(cpu_limit_reached(39.9, 4, 100, 10, 5));
  CHECK(cpu_limit_reached(40, 4, 100, 10, 5));
  CHECK(cpu_limit_reached(150, 1, 100, 10, 5));  // already past it
}

TEST_CASE("cpu_limit_reached: at least one core is assumed, no limit means never") {
  CHECK(cpu_limit_reached(85, 0, 100, 10, 5));
  CHECK(cpu_limit_reached(85, 0.2, 100, 10, 5));
  CHECK_FALSE(cpu_limit_reached(1e9, 8, 0, 10, 5));
  CHECK_FALSE(cpu_limit_reached(1e9, 8, -1, 10, 5));
}

TEST_CASE("CpuRate: the cores in use from the last two samples") {
  CpuRate r;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK(r.update(10, t0) == 1);  // one sample: assume one core
  CHECK(r.update(14, t0 + 2s) == Approx(2));
  CHECK(r.update(14.5, t0 + 3s) == Approx(0.5));
  CHECK(r.update(14.5, t0 + 3s) == Approx(0.5));  // a repeated sample keeps the last rate
  CHECK(r.update(14, t0 + 4s) == 0);              // CPU never goes back: no negative rate
}

TEST_CASE("cpu_limit_stop: the reason names the CPU limit, nothing without a limit") {
  CpuRate r;
  auto t0 = std::chrono::steady_clock::time_point{} + 100s;
  CHECK_FALSE(cpu_limit_stop(r, 50, 0, 1, 1, t0));
  CpuRate rate;
  CHECK_FALSE(cpu_limit_stop(rate, 10, 30, 2, 1, t0));
  // 3 cores from now on: 10 + 3 x 3 = 19 < 30, then 19 + 9 = 28 < 30, then 22 + 9 >= 30
  CHECK_FALSE(cpu_limit_stop(rate, 13, 30, 2, 1, t0 + 1s));
  CHECK_FALSE(cpu_limit_stop(rate, 19, 30, 2, 1, t0 + 3s));
  auto why = cpu_limit_stop(rate, 22, 30, 2, 1, t0 + 4s);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::StartsWith("CPU limit approaching"));
  CHECK_THAT(*why, Catch::Contains("30.00 s"));
}
