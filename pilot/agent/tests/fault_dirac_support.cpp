#include "fault_dirac_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include "agent_test_support.hpp"
#include "core/fs.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
namespace fs = std::filesystem;

namespace pilot::agent::test {

std::vector<std::string> faulty_server_pilot_args(const FakeDirac& server, const fs::path& dir) {
  return dirac_run_args(
      server, dir / "work", "proxy.pem",
      {// The ProxyManager shares the faulting DISET port: a job matched just before a fault runs
       // without its owner's proxy rather than failing, so only the reports are tested.
       "--set", "payload_proxy_required=false", "--set", "processors=1", "--set",
       "min_proxy_lifetime_s=600", "--set", "drain_file=" + (dir / "drain").string(),
       // Short time-outs and polling keep the test fast; outages are ridden out, not counted.
       "--set", "rpc_timeout_s=1", "--set", "rpc_connect_timeout_s=1", "--set", "polling_s=0.2",
       "--set", "max_host_failures=1000", "--set", "heartbeat_s=0.5", "--set",
       "report_retry_s=120"});
}

json sleeping_jobs(int n, double seconds) {
  json jdls;
  for (int id = 1; id <= n; ++id)
    jdls[std::to_string(id)] = "[ Executable = \"/bin/sleep\"; Arguments = \"" +
                               std::to_string(seconds) +
                               "\"; CPUTime = 600; JobID = " + std::to_string(id) + "; ]";
  return jdls;
}

// Every status change the server stored for `job`: "time Status/MinorStatus", ordered by time as
// the server applies them. A change delivered twice (its reply was lost) counts once.
std::vector<std::string> stored_statuses(const FakeDirac& s, int job) {
  std::map<std::string, std::pair<std::string, std::string>> by_time;
  for (const auto& r : s.calls("setJobStatusBulk")) {
    if (r["args"][0] != job || !r.contains("reply") || !r["reply"].value("OK", false)) continue;
    for (auto& [ts, st] : r["args"][1].items()) {
      std::pair<std::string, std::string> change{st.value("Status", ""),
                                                 st.value("MinorStatus", "")};
      auto [it, fresh] = by_time.emplace(ts, change);
      if (!fresh) CHECK(it->second == change);  // a redelivery, not a different change
    }
  }
  // A field a report leaves out keeps its last value; the pilot receives the job Matched.
  std::vector<std::string> out;
  std::string status = "Matched", minor;
  for (auto& [ts, change] : by_time) {
    if (!change.first.empty()) status = change.first;
    if (!change.second.empty()) minor = change.second;
    out.push_back(status + "/" + minor);
  }
  return out;
}

std::set<std::string> stored_parameters(const FakeDirac& s, int job) {
  std::set<std::string> out;
  for (const auto& r : s.calls("setJobParameters"))
    if (r["args"][0] == job && r.contains("reply"))
      for (const auto& p : r["args"][1]) out.insert(p[0].get<std::string>());
  return out;
}

// How many calls of each transport met each fault ("diset reset", "https 500", ...).
std::map<std::string, int> faults_seen(const FakeDirac& s) {
  std::map<std::string, int> out;
  for (const auto& r : s.records())
    if (r.contains("event")) ++out[r.value("transport", "") + " " + r["event"].get<std::string>()];
  return out;
}

double epoch_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void check_every_job_reported(const FakeDirac& server, const fs::path& work, int jobs) {
  const std::vector<std::string> flow{"Matched/Job Received by Agent",
                                      "Matched/Submitting To CE",
                                      "Running/Job Initialization",
                                      "Running/Application",
                                      "Completing/Application Finished Successfully",
                                      "Done/Execution Complete"};
  for (int id = 1; id <= jobs; ++id) {
    INFO("job " << id);
    CHECK(stored_statuses(server, id) == flow);
    auto params = stored_parameters(server, id);
    CHECK(params.count("TotalCPUTime(s)") == 1);
    CHECK(params.count("WallClockTime(s)") == 1);
  }
  // Nothing is left waiting in the report buffer.
  auto buffer = json::parse(
      pilot::read_file(work / ".pilot-state" / "dirac-reports.json").value_or("{\"jobs\": []}"));
  CHECK(buffer["jobs"].empty());
}

}  // namespace pilot::agent::test
