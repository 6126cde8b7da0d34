#include <signal.h>
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/signals.hpp"

TEST_CASE("signals are accepted as USR1, SIGUSR1 or a number") {
  CHECK(pilot::parse_signal("USR1") == SIGUSR1);
  CHECK(pilot::parse_signal("SIGUSR1") == SIGUSR1);
  CHECK(pilot::parse_signal("10") == SIGUSR1);
  CHECK(pilot::parse_signal("INT") == SIGINT);
}

TEST_CASE("unknown signals are rejected with the text in the message") {
  CHECK_THROWS_WITH(pilot::parse_signal("USR3"), Catch::Contains("USR3"));
  CHECK_THROWS_AS(pilot::parse_signal(""), pilot::Error);
  CHECK_THROWS_AS(pilot::parse_signal("0"), pilot::Error);
  CHECK_THROWS_AS(pilot::parse_signal("99"), pilot::Error);
  CHECK_THROWS_AS(pilot::parse_signal("10x"), pilot::Error);
}

TEST_CASE("signal names round-trip") {
  CHECK(pilot::signal_name(SIGTERM) == "SIGTERM");
  CHECK(pilot::signal_name(SIGUSR1) == "SIGUSR1");
  CHECK(pilot::parse_signal(pilot::signal_name(SIGXCPU)) == SIGXCPU);
}
