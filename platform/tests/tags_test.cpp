#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "platform/tags.hpp"

using namespace pilot::platform;

TEST_CASE("requires: gcc number rule and promotion of old-style flags") {
  CHECK(requires_platform("x86_64-slc6-gcc62-opt") == "x86_64_v2-slc6");
  CHECK(requires_platform("x86_64-slc6-gcc49-opt") == "x86_64-slc6");
  CHECK(requires_platform("x86_64-slc6-gcc7-opt") == "x86_64_v2-slc6");
  CHECK(requires_platform("x86_64-el9-gcc13-opt") == "x86_64_v2-el9");
  CHECK(requires_platform("x86_64-slc5-gcc46-opt") == "x86_64-slc5");
  CHECK(requires_platform("x86_64-slc5-gcc34-opt") == "x86_64-slc5");
  CHECK(requires_platform("x86_64-centos7-clang10-opt") == "x86_64_v2-centos7");
  CHECK(requires_platform("x86_64-slc5-icc11-opt") == "x86_64-slc5");
  CHECK(requires_platform("x86_64+avx2+fma-centos7-gcc7-opt") == "x86_64_v3-centos7");
  CHECK(requires_platform("x86_64+avx-centos7-gcc62-opt+o3") == "sandybridge-centos7");
  CHECK(requires_platform("x86_64+avx512f-centos7-gcc9-opt") == "x86_64_v4-centos7");
  CHECK(requires_platform("x86_64_v4+vecwid256-el9-gcc13-opt") == "x86_64_v4-el9");
  CHECK(requires_platform("skylake_avx512+vecwid256-centos7-gcc9-opt") == "skylake_avx512-centos7");
  CHECK(requires_platform("i686-slc5-gcc43-opt") == "i686-slc5");
  CHECK(requires_platform("armv8.1_a-el9-gcc12-opt") == "armv8.1_a-el9");
  CHECK(requires_platform("x86_64-centos7-gcc-opt") == "x86_64-centos7");  // no digits: no rule
  CHECK(requires_platform("x86_64-centos7-gcc99999999999999999999-opt") == "x86_64_v2-centos7");
  CHECK(requires_platform("a-b-c") == "a-b");
}

TEST_CASE("a tag with fewer than three fields is an error naming it") {
  CHECK_THROWS_WITH(requires_platform("x86_64-el9"), Catch::Contains("'x86_64-el9'"));
  CHECK_THROWS_AS(requires_platform(""), pilot::Error);
  CHECK_THROWS_AS(requires_platform("slc4_amd64_gcc34"), pilot::Error);
}

TEST_CASE("platforms: ARCH-OS with an optional legacy .micro suffix") {
  auto p = parse_platform("x86_64-centos7.avx2");
  CHECK(p.arch == "x86_64_v3");
  CHECK(p.os == "centos7");
  CHECK(parse_platform("x86_64-centos7.avx2+fma").arch == "x86_64_v3");
  CHECK(parse_platform("i686-slc5").arch == "i686");
  CHECK(parse_platform("a-b-c").os == "b-c");
  CHECK_THROWS_WITH(parse_platform("haswell"), Catch::Contains("'haswell'"));
}

TEST_CASE("can_run needs a compatible OS and a superset of the required flags") {
  CHECK(can_run("haswell-el9", "x86_64_v2-el9"));
  CHECK(can_run("haswell-el9", "x86_64_v3-el9"));
  CHECK_FALSE(can_run("haswell-el9", "x86_64_v4-el9"));
  CHECK_FALSE(can_run("cannonlake-el9", "x86_64_v4-el9"));
  CHECK(can_run("haswell-any", "x86_64_v3-centos7"));
  CHECK_FALSE(can_run("haswell-unknown", "x86_64_v2-el9"));
  CHECK_FALSE(can_run("unknown-el9", "unknown-el9"));
  CHECK(can_run("newarch-el9", "newarch-el9"));
  CHECK_FALSE(can_run("haswell-el9", "newarch-el9"));
  CHECK_FALSE(can_run("x86_64-centos7", "x86_64-slc6"));
  CHECK(can_run("x86_64-slc6", "x86_64-slc5"));
  CHECK_FALSE(can_run("x86_64-el9", "x86_64_v2-el9"));
  CHECK_FALSE(can_run("haswell-el9", "i686-el9"));
  CHECK_THROWS_AS(can_run("haswell", "x86_64-el9"), pilot::Error);
}

TEST_CASE("compatible_platforms: 'any' first, then OSes sorted by their numbers") {
  auto p = compatible_platforms("x86_64-slc4");
  CHECK(p.front() == "cannonlake-any");
  CHECK(p.back() == "x86_64-slc4");
  CHECK(p.size() == 14 * 4);  // any, slc6, slc5, slc4
  CHECK(p[14] == "cannonlake-slc6");
  CHECK(p[28] == "cannonlake-slc5");
  CHECK(compatible_platforms("unknown-el9").empty());
  CHECK(compatible_platforms("x86_64_v2-unknown").empty());
  CHECK(compatible_platforms("i686-slc5").empty());
  CHECK(compatible_platforms("x86_64_v4-el9") ==
        std::vector<std::string>{"skylake_avx512-any", "x86_64_v4-any", "skylake_avx512-el9",
                                 "x86_64_v4-el9"});
  auto legacy = compatible_platforms("x86_64-centos7.avx2");
  CHECK(legacy.back() == "x86_64_v3-centos7");
  auto odd = compatible_platforms("x86_64_v2-centos");  // no number: sorted last
  CHECK(odd.back() == "x86_64_v2-centos");
}

TEST_CASE("lowest_common_requirement: the least demanding platform running every tag") {
  using P = std::vector<std::vector<std::string>>;
  CHECK(lowest_common_requirement(P{{"x86_64_v2-el9-gcc13-opt"}, {"x86_64_v3-el9-gcc13-opt+g"}}) ==
        "x86_64_v3-el9");
  CHECK(lowest_common_requirement(P{{"x86_64-slc5-gcc49-opt"}, {"x86_64-slc6-gcc49-opt"}}) ==
        "x86_64-slc6");
  // No common OS but "any": the container case.
  CHECK(lowest_common_requirement(P{{"x86_64-slc5-gcc49-opt"}, {"x86_64-centos7-gcc8-opt"}}) ==
        "x86_64_v2-any");
  CHECK(lowest_common_requirement(P{{"armv8.1_a-el9-gcc13-opt"}, {"x86_64_v2-el9-gcc13-opt"}}) ==
        std::nullopt);
  // A position with only old-style names can never be satisfied.
  CHECK(lowest_common_requirement(P{{"x86_64-slc6-gcc49-opt"}, {"slc4_amd64_gcc34"}}) ==
        std::nullopt);
  CHECK(lowest_common_requirement(P{}) == std::nullopt);
  // Alternatives: the candidate most others can run wins.
  CHECK(lowest_common_requirement(P{{"x86_64_v3-el9-gcc13-opt", "x86_64_v2-el9-gcc13-opt"}}) ==
        "x86_64_v2-el9");
  CHECK(lowest_common_requirement(
            P{{"slc4_amd64_gcc34", "x86_64-slc5-gcc49-opt", "x86_64-slc6-gcc49-opt"},
              {"x86_64-slc6-gcc62-opt"}}) == "x86_64_v2-slc6");
  // Ties keep the first candidate found.
  CHECK(lowest_common_requirement(P{{"x86_64_v2-el9-gcc13-opt", "x86_64_v2-centos7-gcc11-opt"}}) ==
        "x86_64_v2-el9");
  CHECK_THROWS_AS(lowest_common_requirement(P{{"x86_64-el9"}}), pilot::Error);
}
