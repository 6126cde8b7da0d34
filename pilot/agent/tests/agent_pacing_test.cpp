// The agent obeys its request pacing (agent/request_pacing.hpp) against the fake DIRAC server:
// the waits it logs are the gaps the server sees between its Matcher requests.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "agent_test_support.hpp"
#include "fake_server.hpp"
#include "fault_dirac_support.hpp"
#include "run_pilot.hpp"

using pilot::dirac::test::FakeDirac;
using pilot::test::run_pilot;

namespace {

std::vector<std::string> args(const FakeDirac& server, const pilot::TempDir& dir,
                              const std::vector<std::string>& extra) {
  return pilot::agent::test::dirac_run_args(server, dir.path() / "work", "proxy.pem", extra);
}

// When the server had each Matcher request (seconds since the epoch), oldest first.
std::vector<double> request_times(const FakeDirac& server) {
  std::vector<double> t;
  for (const auto& c : server.calls("requestJob")) t.push_back(c["received"].get<double>());
  return t;
}

// The values of `field=` on the log lines containing `message`, in order.
std::vector<double> logged(const std::string& err, const std::string& message,
                           const std::string& field) {
  std::vector<double> out;
  std::regex value(field + "=([0-9.eE+-]+)");
  std::size_t at = 0;
  while ((at = err.find(message, at)) != std::string::npos) {
    auto end = err.find('\n', at);
    std::string line = err.substr(at, end == std::string::npos ? std::string::npos : end - at);
    std::smatch m;
    if (std::regex_search(line, m, value)) out.push_back(std::stod(m[1]));
    at += message.size();
  }
  return out;
}

// Scheduling and the TLS connection make a gap a little longer than the wait, never shorter.
constexpr double kEarly = 0.02;

}  // namespace

TEST_CASE("pacing: after each failed match the pilot waits the jittered back-off it logs") {
  FakeDirac server({"--jobs", "0"});
  pilot::TempDir dir("agent-pacing");
  auto r = run_pilot(args(server, dir,
                          {"--set", "stop_after_failed_matches=6", "--set",
                           "pacing.no_match_base_s=0.2", "--set", "pacing.no_match_cap_s=0.8"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto sent = request_times(server);
  auto waits = logged(r.err, "no job matched", "next_request_in_s");
  REQUIRE(sent.size() == 6);
  REQUIRE(waits.size() == 6);
  for (std::size_t i = 0; i + 1 < sent.size(); ++i) {
    INFO("after failed match " << i + 1);
    CHECK(waits[i] <= std::min(0.8, 0.2 * std::exp2(static_cast<double>(i))) + 1e-9);
    CHECK(sent[i + 1] - sent[i] >= waits[i] - kEarly);
  }
}

TEST_CASE("pacing: the first request waits for the start-up spread the pilot logs") {
  FakeDirac server({"--jobs", "0"});
  pilot::TempDir dir("agent-pacing");
  double started = pilot::agent::test::epoch_now();
  auto r = run_pilot(args(server, dir, {"--set", "pacing.start_spread_s=1.5"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto spread = logged(r.err, "first job request after the start-up spread", "in_s");
  auto sent = request_times(server);
  REQUIRE(!sent.empty());
  // A draw of exactly 0 logs nothing; any other is within the spread and waited for.
  if (!spread.empty()) {
    CHECK(spread[0] <= 1.5);
    CHECK(sent[0] - started >= spread[0] - kEarly);
  }
}

TEST_CASE(
    "pacing: with DIRAC's JobAgent pacing the pilot asks once per PollingTime after a match") {
  FakeDirac server({"--jobs", "2"});
  pilot::TempDir dir("agent-pacing");
  auto r = run_pilot(
      args(server, dir,
           {"--set", "pacing.kind=dirac", "--set", "polling_s=0.6", "--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto sent = request_times(server);
  REQUIRE(sent.size() == 3);  // two matches, then the failed match that ends the pilot
  CHECK(sent[1] - sent[0] >= 0.6 - kEarly);
  CHECK(sent[2] - sent[1] >= 0.6 - kEarly);
}
