// DIRAC configuration files: what the writer produces is what diraccfg reads back, and what it
// cannot carry is refused with the option's path.
#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "dirac/cfg.hpp"

using pilot::dirac::CfgSection;
using pilot::dirac::parse_cfg;
using pilot::dirac::to_cfg_text;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const pilot::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("DIRAC cfg: the minimal payload configuration, two blanks a level") {
  CfgSection root;
  auto& dirac = root.section("DIRAC");
  dirac.set("Setup", "Test-Setup");
  dirac.section("Setups").section("Test-Setup").set("WorkloadManagement", "Test");
  root.section("Systems")
      .section("WorkloadManagement")
      .section("Test")
      .section("URLs")
      .set("JobStateUpdate", "https://localhost:18443/WorkloadManagement/TornadoJobStateUpdate");
  CHECK(
      to_cfg_text(root) ==
      "DIRAC\n{\n  Setup = Test-Setup\n  Setups\n  {\n    Test-Setup\n    {\n"
      "      WorkloadManagement = Test\n    }\n  }\n}\n"
      "Systems\n{\n  WorkloadManagement\n  {\n    Test\n    {\n      URLs\n      {\n"
      "        JobStateUpdate = https://localhost:18443/WorkloadManagement/TornadoJobStateUpdate\n"
      "      }\n    }\n  }\n}\n");
  CHECK(root.value_at("/DIRAC/Setups/Test-Setup/WorkloadManagement") == "Test");
  CHECK(root.value_at("DIRAC/Setup") == "Test-Setup");
  CHECK_FALSE(root.value_at("/DIRAC/Missing/Setup"));
}

TEST_CASE("DIRAC cfg: values with '=', braces, '#' and quotes come back unchanged") {
  CfgSection root;
  auto& s = root.section("LocalSite");
  s.set("Site", "LCG.CERN.cern");
  s.set("Odd", "a = b {c} # not a comment 'quoted' \"too\"");
  s.set("Empty", "");
  s.set_list("LocalSE", {"CERN-DST-EOS", "CERN-USER"});
  s.set("Site", "LCG.CNAF.it");  // replaced in place
  auto back = parse_cfg(to_cfg_text(root), "round trip");
  CHECK(to_cfg_text(back) == to_cfg_text(root));
  CHECK(back.value_at("/LocalSite/Odd") == "a = b {c} # not a comment 'quoted' \"too\"");
  CHECK(back.value_at("/LocalSite/Empty") == "");
  CHECK(back.value_at("/LocalSite/Site") == "LCG.CNAF.it");
  CHECK(back.list_at("/LocalSite/LocalSE") ==
        std::vector<std::string>{"CERN-DST-EOS", "CERN-USER"});
  CHECK(back.find_section("LocalSite")->entries().front().name == "Site");
}

TEST_CASE("DIRAC cfg: what diraccfg would read differently is refused, naming the path") {
  CfgSection root;
  auto& s = root.section("LocalSite");
  CHECK_THAT(error_of([&] { s.set("GridCE", "ce.example\nInjected = 1"); }),
             Catch::Contains("/LocalSite/GridCE") && Catch::Contains("line break"));
  CHECK_THAT(error_of([&] { s.set("GridCE", " ce.example"); }),
             Catch::Contains("/LocalSite/GridCE") && Catch::Contains("blank"));
  CHECK_THAT(error_of([&] { s.set("A/B", "x"); }), Catch::Contains("'A/B' in /LocalSite"));
  CHECK_THAT(error_of([&] { s.set("A = B", "x"); }), Catch::Contains("'A = B'"));
  CHECK_THAT(error_of([&] { s.section("{x"); }), Catch::Contains("'{x'"));
  CHECK_THAT(error_of([&] { s.set("#A", "x"); }), Catch::Contains("leading #"));
  CHECK_THAT(error_of([&] { s.set("", "x"); }), Catch::Contains("empty name in /LocalSite"));
  CHECK_THAT(error_of([&] { s.set_list("LocalSE", {"a,b"}); }),
             Catch::Contains("/LocalSite/LocalSE") && Catch::Contains("'a,b'"));
  CHECK_THAT(error_of([&] { s.set_list("LocalSE", {""}); }), Catch::Contains("empty"));
  s.section("Sub");
  CHECK_THAT(error_of([&] { s.set("Sub", "x"); }), Catch::Contains("/LocalSite/Sub is a section"));
  s.set("Opt", "x");
  CHECK_THAT(error_of([&] { s.section("Opt"); }), Catch::Contains("/LocalSite/Opt is an option"));
  // Nothing refused was written.
  CHECK(to_cfg_text(root) == "LocalSite\n{\n  Sub\n  {\n  }\n  Opt = x\n}\n");
}

TEST_CASE("DIRAC cfg: the reader follows diraccfg (names on their own line, comments, +=)") {
  auto cfg = parse_cfg(
      "# a comment line\n"
      "DIRAC\n"
      "{\n"
      "   Setup   =   LHCb-Production  \n"
      "  Configuration {\n    Servers = dips://cs1:9135/Configuration/Server\n"
      "  }\n"
      "  Configuration\n  {\n    Servers += dips://cs2:9135/Configuration/Server\n  }\n"
      "  URL = https://host/path?a=b\n"
      "}\n",
      "site.cfg");
  CHECK(cfg.value_at("/DIRAC/Setup") == "LHCb-Production");
  CHECK(cfg.list_at("/DIRAC/Configuration/Servers") ==
        std::vector<std::string>{"dips://cs1:9135/Configuration/Server",
                                 "dips://cs2:9135/Configuration/Server"});
  CHECK(cfg.value_at("/DIRAC/URL") == "https://host/path?a=b");
  CHECK(error_of([] { parse_cfg("A\n{\n}\n}\n", "x.cfg"); }) == "x.cfg:4: '}' closes no section");
  CHECK(error_of([] { parse_cfg("A\n{\n  B\n  {\n}\n", "x.cfg"); }) ==
        "x.cfg:2: section opened here is never closed");
  CHECK_THAT(error_of([] { parse_cfg("A\n{\n = v\n}\n", "x.cfg"); }),
             Catch::StartsWith("x.cfg:3: an option without a name"));
  CHECK_THAT(error_of([] { parse_cfg("A { B = v\n}\n", "x.cfg"); }),
             Catch::StartsWith("x.cfg:1: option name 'A { B' holds a brace"));
  CHECK(error_of([] { parse_cfg("A\nB = v\n", "x.cfg"); }) ==
        "x.cfg:2: 'A' before option 'B' opens no section");
}

TEST_CASE("DIRAC cfg: merging replaces options and merges sections of the same name") {
  auto base = parse_cfg("DIRAC\n{\n  Setup = A\n  VirtualOrganization = lhcb\n}\n", "base");
  auto site = parse_cfg("DIRAC\n{\n  Setup = B\n}\nLocalSite\n{\n  Site = X\n}\n", "site");
  base.merge(site);
  CHECK(to_cfg_text(base) ==
        "DIRAC\n{\n  Setup = B\n  VirtualOrganization = lhcb\n}\nLocalSite\n{\n  Site = X\n}\n");
  CHECK(base.find_section("LocalSite")->path() == "/LocalSite");
}
