#include <catch2/catch.hpp>

#include "agent/log_shipper.hpp"
#include "core/log.hpp"
#include "fake_server.hpp"

using pilot::dirac::test::FakeDirac;

namespace {
pilot::dirac::ServiceClient logging_client(const FakeDirac& server) {
  pilot::dirac::ServiceClient c;
  c.urls = {server.https_url("WorkloadManagement/TornadoPilotLogging")};
  c.options.credentials = pilot::dirac::test::proxy_credentials();
  c.options.setup = "Test-Setup";
  c.options.vo = "testvo";
  return c;
}
}  // namespace

TEST_CASE("the pilot's log lines reach PilotLogging in order, then the log is finalised") {
  FakeDirac server;
  pilot::agent::LogShipper::Options o;
  o.period = std::chrono::milliseconds(100);
  o.batch = 3;
  pilot::agent::LogShipper shipper(o);
  pilot::log::Logger log(
      pilot::log::make_sink({pilot::log::Format::json, pilot::log::Level::info, false, {}}),
      "pilot");
  log.set_tee([&](const std::string& line) { shipper.add(line); });
  log.info("before the service is known");
  shipper.start(logging_client(server), "pilot-uuid-1", "testvo");
  for (int i = 0; i < 7; ++i) log.info("line", {{"n", i}});
  shipper.finish(0);
  log.set_tee(nullptr);

  std::vector<std::string> shipped;
  for (const auto& call : server.calls("sendMessage")) {
    auto args = call["args"];
    CHECK(args[1] == "pilot-uuid-1");
    CHECK(args[2] == "testvo");
    for (const auto& line : nlohmann::json::parse(args[0].get<std::string>()))
      shipped.push_back(line);
  }
  REQUIRE(shipped.size() == 8);
  CHECK_THAT(shipped[0], Catch::Contains("before the service is known"));
  CHECK(nlohmann::json::parse(shipped[7])["n"] == 6);
  auto fin = server.calls("finaliseLogs");
  REQUIRE(fin.size() == 1);
  CHECK(fin[0]["args"][0]["retCode"] == 0);
}

TEST_CASE("a PilotLogging outage keeps the lines for later and never blocks the pilot") {
  FakeDirac server;
  server.control({{"down", true}});
  pilot::agent::LogShipper::Options o;
  o.period = std::chrono::milliseconds(50);
  o.batch = 2;
  o.max_buffered = 5;
  pilot::agent::LogShipper shipper(o);
  shipper.start(logging_client(server), "u", "testvo");
  for (int i = 0; i < 8; ++i) shipper.add("line " + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(server.calls("sendMessage").empty());
  CHECK(shipper.dropped() == 3);  // bounded buffer: the oldest go first
  server.control(nlohmann::json::object());
  shipper.finish(1);
  std::vector<std::string> shipped;
  for (const auto& call : server.calls("sendMessage"))
    for (const auto& line : nlohmann::json::parse(call["args"][0].get<std::string>()))
      shipped.push_back(line);
  CHECK(shipped == std::vector<std::string>{"line 3", "line 4", "line 5", "line 6", "line 7"});
}
