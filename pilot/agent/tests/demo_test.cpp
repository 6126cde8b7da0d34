// The README's main job: `pilot run` with no configuration runs the embedded demo jobs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "output_files.hpp"
#include "run_pilot.hpp"

using nlohmann::json;

TEST_CASE("the main job: pilot run on the embedded default runs every demo job and reports it") {
  pilot::TempDir dir("demo");
  auto r = pilot::test::run_pilot({"run", "--workdir", dir.path().string(), "--json"}, {},
                                  std::chrono::seconds(120));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto summary = pilot::test::last_json_line(r.out);
  CHECK(summary["jobs_started"] == 4);
  CHECK(summary["jobs_succeeded"] == 3);
  CHECK(summary["jobs_failed"] == 1);
  auto list = pilot::test::run_pilot(
      {"queue", "list", "--queue", (dir.path() / "demo-queue").string(), "--json"});
  REQUIRE(list.exit_code == 0);
  std::map<std::string, std::string> by_name;
  for (const auto& j : json::parse(list.out))
    by_name[j.value("job_name", "")] = j.value("status", "");
  CHECK(by_name["demo-hello"] == "Done");
  CHECK(by_name["demo-multicore"] == "Done");
  CHECK(by_name["demo-interruptible-mc"] == "Done");
  CHECK(by_name["demo-failing"] == "Failed");
  CHECK(summary["events"] == 200);
}
