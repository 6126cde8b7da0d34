#include <catch2/catch.hpp>
#include <map>

#include "agent/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

using nlohmann::json;
using pilot::agent::Config;

namespace {
auto env_of(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("a configuration file sets values, nested service URLs included") {
  pilot::TempDir dir("cfg");
  pilot::write_file_atomic(dir.path() / "pilot.json", R"({
    "site": "LCG.CERN.cern", "ce": "ce01.cern.ch", "processors": 8, "cpu_power_hs06": 12.5,
    "tags": ["WholeNode", "GPU"], "fill": false,
    "services": {"matcher": ["dips://a:9170/WorkloadManagement/Matcher"],
                 "job_state_update": ["https://a:8443/WorkloadManagement/TornadoJobStateUpdate"]}
  })");
  auto c = pilot::agent::load_config(dir.path() / "pilot.json", {}, env_of({}));
  CHECK(c.site == "LCG.CERN.cern");
  CHECK(c.processors == 8);
  CHECK(c.cpu_power_hs06 == 12.5);
  CHECK(c.tags == std::vector<std::string>{"WholeNode", "GPU"});
  CHECK_FALSE(c.fill);
  CHECK(c.uses_dirac());
  CHECK(c.services.matcher.size() == 1);
}

TEST_CASE("unknown options are errors naming the option, with a suggestion") {
  Config base;
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"sitee", "X"}}, "pilot.json"),
                    "pilot.json: unknown configuration option 'sitee' (did you mean 'site'?)");
  CHECK_THROWS_WITH(
      pilot::agent::apply_config(base, json{{"services", {{"matchr", json::array()}}}}, "f"),
      Catch::Contains("'services.matchr'") && Catch::Contains("services.matcher"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"frobnicate", 1}}, "f"),
                    "f: unknown configuration option 'frobnicate'");
}

TEST_CASE("mistyped values are errors naming the option and the value") {
  Config base;
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"processors", "eight"}}, "f"),
                    "f: configuration option 'processors' must be an integer, got \"eight\"");
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"processors", 2.5}}, "f"),
                    Catch::Contains("integer"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"processors", -1}}, "f"),
                    Catch::Contains("non-negative"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"fill", 1}}, "f"),
                    Catch::Contains("true or false"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"tags", "GPU"}}, "f"),
                    Catch::Contains("list of strings"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json{{"site", 3}}, "f"),
                    Catch::Contains("a string"));
  CHECK_THROWS_WITH(pilot::agent::apply_config(base, json::array(), "f"),
                    Catch::Contains("JSON object"));
}

TEST_CASE("overrides (--set): JSON values, plain strings, comma lists, dotted keys") {
  Config c;
  c = pilot::agent::apply_override(c, "processors=4");
  c = pilot::agent::apply_override(c, "site=LCG.RAL.uk");
  c = pilot::agent::apply_override(c, "tags=GPU,8Processors");
  c = pilot::agent::apply_override(
      c, "services.matcher=[\"dips://m:9170/WorkloadManagement/Matcher\"]");
  c = pilot::agent::apply_override(c, "job_memory_limit_bytes=1000000");
  CHECK(c.processors == 4);
  CHECK(c.site == "LCG.RAL.uk");
  CHECK(c.tags == std::vector<std::string>{"GPU", "8Processors"});
  CHECK(c.services.matcher.front() == "dips://m:9170/WorkloadManagement/Matcher");
  CHECK(c.job_memory_limit_bytes == 1000000);
  CHECK_THROWS_WITH(pilot::agent::apply_override(c, "processors"), Catch::Contains("key=value"));
  CHECK_THROWS_WITH(pilot::agent::apply_override(c, "polling=3"),
                    Catch::Contains("'polling'") && Catch::Contains("polling_s"));
}

TEST_CASE("request pacing: pacing.* keys, the kind by name, polling_s as DIRAC's PollingTime") {
  Config c;
  CHECK(c.pacing.kind == pilot::agent::PacingKind::jitter);
  c = pilot::agent::apply_override(c, "pacing.kind=dirac");
  c = pilot::agent::apply_override(c, "polling_s=30");
  c = pilot::agent::apply_override(c, "pacing.start_spread_s=60");
  c = pilot::agent::apply_override(c, "pacing.error_cap_s=90");
  CHECK(c.pacing.kind == pilot::agent::PacingKind::dirac);
  CHECK(c.pacing.polling_s == 30);
  CHECK(c.pacing.start_spread_s == 60);
  CHECK(c.pacing.error_cap_s == 90);
  CHECK(pilot::agent::config_to_json(c)["pacing"]["kind"] == "dirac");
  CHECK_THROWS_WITH(pilot::agent::apply_override(c, "pacing.kind=linear"),
                    Catch::Contains("pacing.kind") && Catch::Contains("\"jitter\" or \"dirac\""));
  CHECK_THROWS_WITH(pilot::agent::apply_override(c, "pacing.no_match_base_s=-1"),
                    Catch::Contains("pacing.no_match_base_s"));
}

TEST_CASE("the environment fills credentials the configuration does not set") {
  pilot::TempDir dir("cfg");
  pilot::write_file_atomic(dir.path() / "a.json", R"({"queue_dir": "/q"})");
  auto c = pilot::agent::load_config(
      dir.path() / "a.json", {}, env_of({{"X509_USER_PROXY", "/tmp/p"}, {"X509_CERT_DIR", "/ca"}}));
  CHECK(c.proxy == "/tmp/p");
  CHECK(c.cert_dir == "/ca");
  auto d = pilot::agent::load_config(dir.path() / "a.json", {"proxy=/explicit"},
                                     env_of({{"X509_USER_PROXY", "/tmp/p"}}));
  CHECK(d.proxy == "/explicit");
  CHECK(d.cert_dir == "/etc/grid-security/certificates");
}

TEST_CASE("broken configuration files are errors naming the file") {
  pilot::TempDir dir("cfg");
  pilot::write_file_atomic(dir.path() / "bad.json", "{\"site\": ");
  CHECK_THROWS_WITH(pilot::agent::load_config(dir.path() / "bad.json", {}, env_of({})),
                    Catch::Contains("bad.json") && Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(pilot::agent::load_config(dir.path() / "none.json", {}, env_of({})),
                    Catch::Contains("none.json") && Catch::Contains("does not exist"));
  pilot::write_file_atomic(dir.path() / "half.json", R"({"services": {"matcher": ["dips://m"]}})");
  CHECK_THROWS_WITH(pilot::agent::load_config(dir.path() / "half.json", {}, env_of({})),
                    Catch::Contains("job_state_update"));
}

TEST_CASE("config_to_json lists every key with its default and round-trips") {
  Config c;
  c.processors = 6;
  auto j = pilot::agent::config_to_json(c);
  CHECK(j["processors"] == 6);
  CHECK(j["services"]["matcher"].is_array());
  CHECK(j["job_memory_limit_bytes"].is_null());
  auto back = pilot::agent::apply_config(Config{}, j, "round-trip");
  CHECK(pilot::agent::config_to_json(back) == j);
}
