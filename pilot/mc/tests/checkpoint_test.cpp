#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "mc/checkpoint.hpp"

using pilot::mc::parse_checkpoint;

TEST_CASE("a checkpoint has the events count, output files and extras") {
  auto cp = parse_checkpoint(
      "# written by Gauss\nevents=1234\noutput=Gauss.sim\n output = b.sim \nstep=gen\n\n");
  CHECK(cp.events == 1234);
  CHECK(cp.outputs == std::vector<std::string>{"Gauss.sim", "b.sim"});
  CHECK(cp.extras.at("step") == "gen");
  CHECK(parse_checkpoint(pilot::mc::format_checkpoint(cp)) == cp);
  CHECK(pilot::mc::checkpoint_from_json(pilot::mc::to_json(cp)) == cp);
  // Its copy in job.json, damaged: never cast unchecked.
  for (auto bad :
       {nlohmann::json(3e40), nlohmann::json(-1), nlohmann::json("12"), nlohmann::json()})
    CHECK_THROWS_WITH(pilot::mc::checkpoint_from_json({{"events", bad}}),
                      Catch::Contains("'events' is not a count"));
}

TEST_CASE("CRLF line ends and zero events are accepted") {
  CHECK(parse_checkpoint("events=0\r\n").events == 0);
}

TEST_CASE("malformed checkpoints are errors naming the source and line") {
  CHECK_THROWS_WITH(parse_checkpoint("output=a\n", "cp.txt"),
                    Catch::Contains("cp.txt") && Catch::Contains("no events"));
  CHECK_THROWS_WITH(parse_checkpoint("events=12abc\n", "cp.txt"), Catch::Contains("cp.txt line 1"));
  CHECK_THROWS_WITH(parse_checkpoint("\nevents=-3\n", "cp.txt"), Catch::Contains("line 2"));
  CHECK_THROWS_WITH(parse_checkpoint("events=1.5\n"), Catch::Contains("non-negative integer"));
  CHECK_THROWS_WITH(parse_checkpoint("events 5\n"), Catch::Contains("key=value"));
  CHECK_THROWS_AS(parse_checkpoint("events=99999999999999999999999\n"), pilot::Error);
  CHECK_THROWS_AS(parse_checkpoint(std::string("events=\0\x01", 8)), pilot::Error);
}

TEST_CASE("read_checkpoint: absent file is nullopt, present file is parsed") {
  pilot::TempDir dir("cp-test");
  CHECK_FALSE(pilot::mc::read_checkpoint(dir.path() / "checkpoint").has_value());
  pilot::write_file_atomic(dir.path() / "checkpoint", "events=7\n");
  CHECK(pilot::mc::read_checkpoint(dir.path() / "checkpoint")->events == 7);
}
