#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"

using pilot::log::Format;
using pilot::log::Level;

TEST_CASE("JSON lines carry ts, level, component, msg and typed extras") {
  auto line =
      pilot::log::render(Format::json, Level::warn, "agent", "job matched",
                         {{"job_id", 42}, {"site", "LCG.CERN.cern"}, {"ok", true}, {"load", 1.5}});
  auto j = nlohmann::json::parse(line);
  CHECK(j["level"] == "warn");
  CHECK(j["component"] == "agent");
  CHECK(j["msg"] == "job matched");
  CHECK(j["job_id"] == 42);
  CHECK(j["site"] == "LCG.CERN.cern");
  CHECK(j["ok"] == true);
  CHECK(j["load"] == 1.5);
  std::string ts = j["ts"];
  CHECK(ts.size() == 24);
  CHECK(ts.back() == 'Z');
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE(
    "a field cannot overwrite the fixed JSON keys, and invalid UTF-8 does not break the line") {
  auto line = pilot::log::render(Format::json, Level::info, "x", "m",
                                 {{"msg", "evil"},
                                  {"bytes", std::string("a\xff"
                                                        "b")}});
  auto j = nlohmann::json::parse(line);
  CHECK(j["msg"] == "m");
  CHECK(j["field_msg"] == "evil");
  CHECK(j["bytes"].get<std::string>().size() > 2);
}

TEST_CASE("human lines are greppable: level, [component], msg, key=value with quoting") {
  auto line = pilot::log::render(Format::human, Level::info, "platform", "probe done",
                                 {{"ms", 3}, {"os", "el9"}, {"model", "Intel Xeon"}});
  CHECK_THAT(line, Catch::Contains(" INFO [platform] probe done ms=3 os=el9 model=\"Intel Xeon\""));
}

TEST_CASE("human lines print numbers a person reads and unknown figures as unknown") {
  std::optional<double> absent;
  std::optional<std::int64_t> events = 120;
  pilot::log::Fields fields{{"cpu_efficiency", 0.09680645970227206},
                            {"elapsed_seconds", 12345.678},
                            {"seconds", 7.612e-05},
                            {"load", 2.5},
                            {"wall_seconds_left", absent},
                            {"events", events}};
  auto human = pilot::log::render(Format::human, Level::info, "agent", "pilot summary", fields);
  CHECK_THAT(human, Catch::Contains("cpu_efficiency=0.09681 elapsed_seconds=12346 "
                                    "seconds=0.00007612 load=2.5 wall_seconds_left=unknown "
                                    "events=120"));
  // The JSON line keeps every digit.
  auto j = nlohmann::json::parse(
      pilot::log::render(Format::json, Level::info, "agent", "pilot summary", fields));
  CHECK(j["cpu_efficiency"] == 0.09680645970227206);
  CHECK(j["wall_seconds_left"] == "unknown");
}

TEST_CASE("a file sink receives lines at or above the level, in the chosen format") {
  pilot::TempDir dir("log-test");
  auto file = dir.path() / "pilot.log";
  {
    pilot::log::Logger log(pilot::log::make_sink({Format::json, Level::info, false, file}), "core");
    log.debug("hidden");
    log.info("shown", {{"n", 1}});
    log.child("mjf").error("bad value", {{"key", "hs06"}});
    log.flush();
  }
  auto text = pilot::read_file(file).value();
  CHECK(text.find("hidden") == std::string::npos);
  auto first = nlohmann::json::parse(text.substr(0, text.find('\n')));
  CHECK(first["msg"] == "shown");
  CHECK_THAT(text, Catch::Contains("\"component\":\"mjf\""));
}

TEST_CASE("level and format names are parsed strictly") {
  CHECK(pilot::log::parse_level("debug") == Level::debug);
  CHECK(pilot::log::parse_format("json") == Format::json);
  CHECK_THROWS_WITH(pilot::log::parse_format("xml"),
                    Catch::Contains("xml") && Catch::Contains("human, json"));
  CHECK_THROWS_AS(pilot::log::parse_level("loud"), pilot::Error);
}

TEST_CASE("a default Logger discards everything") {
  pilot::log::Logger log;
  CHECK_FALSE(log.enabled(Level::error));
  log.error("nowhere");
}
