#include <catch2/catch.hpp>

#include "agent/slots.hpp"
#include "core/error.hpp"

using pilot::agent::Slots;
using pilot::agent::Strategy;

TEST_CASE(
    "an idle 8-processor pilot asks for the whole node, then exactly 8, then multi, then plain") {
  Slots s;
  s.total_processors = 8;
  auto plans = pilot::agent::request_plans(s);
  REQUIRE(plans.size() == 4);
  CHECK(plans[0].strategy == Strategy::whole_node);
  CHECK(plans[0].whole_node);
  CHECK(plans[0].required_tags == std::vector<std::string>{"WholeNode"});
  CHECK(plans[1].strategy == Strategy::exact_free);
  CHECK(plans[1].required_tags == std::vector<std::string>{"8Processors"});
  CHECK(plans[2].required_tags == std::vector<std::string>{"MultiProcessor"});
  CHECK(plans[3].strategy == Strategy::plain);
  CHECK(plans[3].processors == 8);
  CHECK(plans[3].required_tags.empty());
}

TEST_CASE("a busy pilot offers exactly its free processors and never the whole node") {
  Slots s;
  s.total_processors = 6;
  s.take("a", 1, 0);
  s.take("b", 2, 0);
  auto plans = pilot::agent::request_plans(s);
  REQUIRE(plans.size() == 3);
  CHECK(plans[0].required_tags == std::vector<std::string>{"3Processors"});
  CHECK(plans[0].processors == 3);
  s.take("c", 2, 0);
  plans = pilot::agent::request_plans(s);
  REQUIRE(plans.size() == 1);  // one processor left: only a plain request
  CHECK(plans[0].processors == 1);
  s.take("d", 1, 0);
  CHECK(pilot::agent::request_plans(s).empty());
  s.release("b");
  CHECK(s.free_processors() == 2);
}

TEST_CASE("a single-processor pilot makes one plain request") {
  Slots s;
  auto plans = pilot::agent::request_plans(s);
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].strategy == Strategy::plain);
}

TEST_CASE("memory is accounted when known, and over-commitment is refused") {
  Slots s;
  s.total_processors = 4;
  s.total_memory_mb = 8000;
  CHECK(s.fits(2, 6000));
  s.take("a", 2, 6000);
  CHECK_FALSE(s.fits(1, 3000));
  CHECK(s.fits(1, 2000));
  CHECK_THROWS_WITH(s.take("b", 1, 3000), Catch::Contains("job b") && Catch::Contains("2000 MB"));
  CHECK_THROWS_AS(s.take("a", 1, 1), pilot::Error);
  CHECK_FALSE(s.fits(0, 0));
}

TEST_CASE("processors a job takes: exact, whole node, flexible ranges") {
  using pilot::agent::processors_for_job;
  CHECK(processors_for_job(2, {}, {}, false, 6, 6) == 2);
  CHECK(processors_for_job({}, {}, {}, false, 6, 6) == 1);
  CHECK(processors_for_job({}, {}, {}, true, 6, 6) == 6);
  CHECK(processors_for_job({}, 2, 8, false, 4, 6) == 4);
  CHECK(processors_for_job({}, 2, 3, false, 6, 6) == 3);
  CHECK(processors_for_job({}, 4, {}, false, 6, 6) == 4);
}
