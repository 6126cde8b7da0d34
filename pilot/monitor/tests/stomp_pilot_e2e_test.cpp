// `pilot run` publishing its monitoring records to a real RabbitMQ (rabbitmq_broker.hpp): a
// record for each status of its job, and its pilot records, to the destinations configured.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "monitor/stomp_client.hpp"
#include "rabbitmq_broker.hpp"
#include "run_pilot.hpp"

using namespace std::chrono_literals;
using pilot::monitor::StompClient;
using pilot::monitor::StompSettings;
using pilot::test::run_pilot;
using Clock = std::chrono::steady_clock;

namespace {

void declare(const StompSettings& s, const std::string& queue) {
  StompClient c(s, 5s);
  c.subscribe(queue, "declare", "auto");
  c.disconnect(Clock::now() + 5s);
}

// Every record waiting in `queue`, until none came for 2 s.
std::vector<nlohmann::json> drain(const StompSettings& s, const std::string& queue) {
  std::vector<nlohmann::json> records;
  StompClient c(s, 5s);
  c.subscribe(queue, "sub-0", "auto");
  auto quiet_until = Clock::now() + 5s;
  while (Clock::now() < quiet_until) {
    auto f = c.read_frame(Clock::now() + 500ms);
    if (!f || f->command != "MESSAGE") continue;
    auto r = nlohmann::json::parse(f->body, nullptr, false);
    REQUIRE_FALSE(r.is_discarded());
    records.push_back(r);
    quiet_until = Clock::now() + 2s;
  }
  c.disconnect(Clock::now() + 2s);
  return records;
}

}  // namespace

TEST_CASE("stomp: pilot run publishes a record per job status and its pilot records") {
  pilot::test::RabbitBroker broker;
  auto s = broker.settings();
  declare(s, "/queue/pilot-jobs");
  declare(s, "/queue/pilot-pilots");
  pilot::TempDir dir("stomp-pilot");
  auto jdl = dir.path() / "job.jdl";
  pilot::write_file_atomic(jdl,
                           "[ Executable = \"/bin/echo\"; Arguments = \"hi\"; CPUTime = 10; ]");
  auto queue = (dir.path() / "queue").string();
  auto submitted = run_pilot({"queue", "submit", "--queue", queue, jdl.string()});
  REQUIRE(submitted.exit_code == 0);
  auto id = submitted.out.substr(0, submitted.out.find('\n'));
  auto r = run_pilot({"run",
                      "--queue",
                      queue,
                      "--workdir",
                      (dir.path() / "work").string(),
                      "--set",
                      "cpu_power_hs06=10",
                      "--set",
                      "min_free_disk_mb=10",
                      "--set",
                      "stomp.host=" + s.host,
                      "--set",
                      "stomp.port=" + std::to_string(s.port),
                      "--set",
                      "stomp.login=" + s.login,
                      "--set",
                      "stomp.passcode=" + s.passcode,
                      "--set",
                      "stomp.destination=/queue/pilot-jobs",
                      "--set",
                      "stomp.pilot_destination=/queue/pilot-pilots"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);

  auto jobs = drain(s, "/queue/pilot-jobs");
  std::vector<std::string> statuses, minors;
  for (const auto& j : jobs) {
    CHECK(j["JobID"] == id);
    CHECK(j.contains("Site"));
    CHECK(j.contains("timestamp"));
    statuses.push_back(j["Status"]);
    minors.push_back(j["MinorStatus"]);
  }
  INFO(nlohmann::json(jobs).dump(1));
  REQUIRE(!statuses.empty());
  CHECK(statuses.front() == "Matched");  // "Job Received by Agent"
  CHECK(std::set<std::string>(statuses.begin(), statuses.end()).count("Running") == 1);
  CHECK(statuses.back() == "Done");
  CHECK(std::find(minors.begin(), minors.end(), "Application") != minors.end());

  auto pilots = drain(s, "/queue/pilot-pilots");
  REQUIRE(!pilots.empty());
  CHECK(pilots.back()["State"] == "ended");
  CHECK(pilots.back()["JobsFinished"]["succeeded"] == 1);
}
