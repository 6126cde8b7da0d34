#include <catch2/catch.hpp>

#include "farmsim/cli.hpp"

using namespace pilot::farmsim;

namespace {

CliOptions parse(std::vector<std::string> args) {
  return parse_cli(args);
}

}  // namespace

TEST_CASE("no flag: the HLT farm's sizes and the structs' defaults, both policies") {
  auto o = parse({});
  CHECK(o.scenario.kind == ScenarioKind::standard);
  CHECK(o.scenario.slots() == 288000);
  CHECK(o.scenario.backlog_jobs() == 576000);
  CHECK(o.scenario.capacity_per_s() == Approx(50));
  CHECK(o.scenario.fill_bound_s() == Approx(5760));
  CHECK(o.scenario.ours.pacing.kind == pilot::agent::PacingKind::jitter);
  CHECK(o.scenario.dirac.pacing.kind == pilot::agent::PacingKind::dirac);
  CHECK(o.scenario.ours.pacing.start_spread_s == pilot::agent::PacingLimits{}.start_spread_s);
  CHECK(o.scenario.policies.size() == 2);
  CHECK(!o.scenario.outage);
  CHECK(!o.json_path);
  CHECK(!o.png_path);
}

TEST_CASE("hlt gives ours the slot unit's settings, and explicit flags win before or after it") {
  auto hlt = parse({"--scenario", "hlt"});
  CHECK(hlt.scenario.ours.pacing.start_spread_s == 240);
  CHECK(hlt.scenario.ours.loop.max_host_failures == 1000);
  CHECK(hlt.scenario.dirac.loop.max_host_failures == pilot::agent::LoopLimits{}.max_host_failures);
  CHECK(!hlt.scenario.outage);
  auto o = parse({"--start-spread-s", "5", "--scenario", "hlt-outage", "--outage", "100:50"});
  CHECK(o.scenario.ours.pacing.start_spread_s == 5);
  REQUIRE(o.scenario.outage);
  CHECK(o.scenario.outage->start_s == 100);
  CHECK(o.scenario.outage->end_s() == 150);
  CHECK(!parse({"--scenario", "hlt-outage", "--outage", "none"}).scenario.outage);
  CHECK(parse({"--scenario", "hlt-outage"}).scenario.outage->start_s == 1800);
}

TEST_CASE("values: ranges, lists, distributions, policies and --flag=value") {
  auto o = parse({"--job-s", "60-120", "--processors-mix", "1:3,8:1", "--service-dist",
                  "lognormal:0.5", "--policy", "dirac", "--json=out.json", "--png", "out.png",
                  "--seed", "42", "--backlog", "0"});
  CHECK(o.scenario.job_min_s == 60);
  CHECK(o.scenario.job_max_s == 120);
  REQUIRE(o.scenario.processors_mix.size() == 2);
  CHECK(o.scenario.processors_mix[1].processors == 8);
  CHECK(o.scenario.processors_mix[1].weight == 1);
  CHECK(o.scenario.multi_processor());
  CHECK(o.scenario.service_dist == ServiceDist::lognormal);
  CHECK(o.scenario.service_cv == 0.5);
  CHECK(o.scenario.policies == std::vector<Policy>{Policy::dirac});
  CHECK(o.json_path == "out.json");
  CHECK(o.png_path == "out.png");
  CHECK(o.scenario.seed == 42);
  CHECK(o.scenario.backlog_jobs() == 0);
  CHECK(parse({"--service-dist", "exp"}).scenario.service_dist == ServiceDist::exponential);
  CHECK(parse({"--help"}).help);
  CHECK(parse({"-h"}).help);
}

TEST_CASE("a bad command line is a usage error naming the flag") {
  auto refused = [](std::vector<std::string> args, const std::string& names) {
    CHECK_THROWS_AS(parse(args), UsageError);
    CHECK_THROWS_WITH(parse(args), Catch::Contains(names));
  };
  refused({"--job-s", "10"}, "--job-s: expected MIN-MAX");
  refused({"--job-s", "100-10"}, "--job-s");
  refused({"--job-s", "-5-10"}, "--job-s");
  refused({"--policy", "foo"}, "--policy: expected ours, dirac or both, got 'foo'");
  refused({"--scenario", "lhcb"}, "--scenario");
  refused({"--service-s", "-1"}, "--service-s: must be > 0, got -1");
  refused({"--nodes", "-5"}, "--nodes");
  refused({"--nodes", "2.5"}, "--nodes: expected a whole number");
  refused({"--client-timeout-s", "0"}, "--client-timeout-s");
  refused({"--error-cap-s", "-3"}, "--error-cap-s");
  refused({"--max-in-flight", "0"}, "--max-in-flight");
  refused({"--duration-s", "inf"}, "--duration-s");
  refused({"--duration-s", "nan"}, "--duration-s");
  refused({"--outage", "1800"}, "--outage");
  refused({"--outage", "10:-5"}, "--outage");
  refused({"--service-dist", "lognormal"}, "--service-dist");
  refused({"--service-dist", "const:2"}, "--service-dist");
  refused({"--processors-mix", "128:1"}, "--processors-mix");
  refused({"--processors-mix", "1:1,"}, "--processors-mix");
  refused({"--processors-mix", "4:0"}, "--processors-mix");
  refused({"--seed"}, "--seed needs a value");
  refused({"--bogus", "1"}, "unknown option --bogus");
  refused({"--help=yes"}, "--help takes no value");
  refused({"--error-base-s", "0", "--max-requests-per-s", "0"}, "--error-base-s");
}

TEST_CASE("the usage text names every flag with its default") {
  std::string text = usage_text();
  for (const char* flag : {"--scenario",
                           "--seed",
                           "--nodes",
                           "--slots-per-node",
                           "--backlog",
                           "--job-s",
                           "--processors-mix",
                           "--matcher-workers",
                           "--service-s",
                           "--service-dist",
                           "--client-timeout-s",
                           "--outage",
                           "--matched-reschedule-s",
                           "--start-within-s",
                           "--duration-s",
                           "--step-s",
                           "--policy",
                           "--start-spread-s",
                           "--no-match-base-s",
                           "--no-match-cap-s",
                           "--error-base-s",
                           "--error-cap-s",
                           "--max-in-flight",
                           "--max-requests-per-s",
                           "--polling-s",
                           "--stop-after-failed-matches",
                           "--max-host-failures",
                           "--json",
                           "--png",
                           "--help"})
    CHECK_THAT(text, Catch::Contains(flag));
  CHECK_THAT(text, Catch::Contains("(default 0; hlt: 240)"));
  CHECK_THAT(text, Catch::Contains("(default none; hlt-outage: 1800:600)"));
}
