#include "core/proc_cgroup.hpp"

#include <catch2/catch.hpp>

#include "core/error.hpp"

using pilot::MalformedLines;
using pilot::parse_proc_cgroup;

TEST_CASE("proc cgroup: v1 and v2 lines, a path holding ':'") {
  auto m = parse_proc_cgroup("12:cpu,cpuacct:/batch/job:42\n0::/user.slice\n\n");
  REQUIRE(m.size() == 2);
  CHECK(m[0].hierarchy == 12);
  CHECK(m[0].controllers == std::vector<std::string>{"cpu", "cpuacct"});
  CHECK(m[0].path == "/batch/job:42");
  CHECK(m[1].hierarchy == 0);
  CHECK(m[1].controllers.empty());
  CHECK(m[1].path == "/user.slice");
}

TEST_CASE("proc cgroup: a malformed line is refused naming it, or skipped when asked") {
  const char* text = "x:memory:/a\n4:memory\n0::/ok\n";
  CHECK_THROWS_WITH(parse_proc_cgroup(text), Catch::Contains("'x:memory:/a'"));
  auto m = parse_proc_cgroup(text, MalformedLines::skip);
  REQUIRE(m.size() == 1);
  CHECK(m[0].path == "/ok");
}
