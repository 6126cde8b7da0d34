// Fault injection against tests/fake_dirac/fake_dirac.py: the Matcher (DISET) and JobStateUpdate
// (HTTPS) hang, reset the connection mid-frame and answer errors, then recover. `pilot run` must
// come through with every job run and every status change of every job delivered, in order.
#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "fake_server.hpp"
#include "fault_dirac_support.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::test::PilotProcess;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace pilot::agent::test;

TEST_CASE(
    "agent faults: Matcher and JobStateUpdate hang, reset mid-frame and fail, then recover: "
    "nothing is lost") {
  constexpr int kJobs = 3;
  FakeDirac server({"--jobs", std::to_string(kJobs)});
  auto jdls = sleeping_jobs(kJobs, 1.5);
  server.control({{"jdl", jdls}, {"https", "reset"}});
  pilot::TempDir dir("pilot-fault-server");
  PilotProcess pilot(faulty_server_pilot_args(server, dir.path()), dir.path());
  // Each fault lasts until both transports have met it (and at least `least`).
  auto phase = [&](const json& faults, const std::vector<std::string>& events,
                   std::chrono::milliseconds least) {
    json c = faults;
    c["jdl"] = jdls;
    server.control(c);
    auto start = std::chrono::steady_clock::now();
    bool met = pilot::test::wait_until(
        [&] {
          auto seen = faults_seen(server);
          for (const auto& e : events)
            if (seen[e] == 0) return false;
          return std::chrono::steady_clock::now() - start >= least;
        },
        40s);
    INFO("faults seen while waiting for " << json(events).dump() << ": "
                                          << json(faults_seen(server)).dump());
    REQUIRE(met);
  };
  // The first job is matched while JobStateUpdate resets every connection mid-reply.
  phase({{"https", "reset"}}, {"https reset"}, 1s);
  REQUIRE_FALSE(server.calls("requestJob").empty());
  // Accepted, never answered: the time-outs fire.
  phase({{"diset", "hang"}, {"https", "hang"}}, {"diset hanging", "https hanging"}, 0ms);
  // Half a frame, then a TCP reset; HTML error pages.
  phase({{"diset", "reset"}, {"https", "500"}}, {"diset reset", "https 500"}, 0ms);
  // S_ERROR before the handler; a reset mid-reply.
  phase({{"diset", "500"}, {"https", "reset"}}, {"diset refused with an error"}, 500ms);
  server.control({{"jdl", jdls}});
  auto rc = pilot.wait(90s);
  INFO(pilot.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto summary = pilot::test::last_json_line(pilot.out());
  CHECK(summary["jobs_started"] == kJobs);
  CHECK(summary["jobs_succeeded"] == kJobs);

  auto seen = faults_seen(server);
  for (const char* f : {"https reset", "https hanging", "https 500", "diset hanging", "diset reset",
                        "diset refused with an error"}) {
    INFO(f);
    CHECK(seen[f] > 0);
  }
  // The 1 s RPC time-outs fired on both transports.
  CHECK(pilot.err().find("no progress within the timeout") != std::string::npos);  // DISET
  CHECK(pilot.err().find("timed out") != std::string::npos);  // HTTPS (libcurl)
  check_every_job_reported(server, dir.path() / "work", kJobs);
}

TEST_CASE(
    "agent faults: the pilot ends during a JobStateUpdate outage and retries its last reports "
    "until the server is back") {
  FakeDirac server({"--jobs", "1"});
  auto jdls = sleeping_jobs(1, 0.5);
  // Broken for the whole job and a few seconds beyond its end.
  server.control({{"jdl", jdls}, {"https", "500"}, {"https_until", epoch_now() + 8}});
  pilot::TempDir dir("pilot-fault-server");
  PilotProcess pilot(faulty_server_pilot_args(server, dir.path()), dir.path());
  auto rc = pilot.wait(90s);
  INFO(pilot.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK(pilot.err().find("reports not delivered yet, retrying") != std::string::npos);
  check_every_job_reported(server, dir.path() / "work", 1);
}

TEST_CASE(
    "agent faults: `pilot dirac call` against a server that resets mid-frame fails naming the URL, "
    "not by SIGPIPE") {
  FakeDirac server({"--jobs", "1"});
  auto pki = pilot::dirac::test::pki();
  std::map<std::string, std::string> env{{"X509_USER_PROXY", (pki / "proxy.pem").string()},
                                         {"X509_CERT_DIR", (pki / "certificates").string()}};
  for (const char* mode : {"reset", "hang", "500"}) {
    INFO(mode);
    server.control({{"diset", mode}, {"https", mode}});
    auto diset = pilot::test::run_pilot({"dirac", "call", server.diset_url(), "requestJob",
                                         R"([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])",
                                         "--setup", "Test-Setup", "--timeout", "1"},
                                        env);
    CHECK(diset.exit_code == 1);  // was killed by SIGPIPE (141) on a reset
    CHECK(diset.err.find(server.diset_url()) != std::string::npos);
    auto https = pilot::test::run_pilot(
        {"dirac", "call", server.https_url(), "setJobStatus", R"([1, "Running", "", "JobWrapper"])",
         "--setup", "Test-Setup", "--timeout", "1"},
        env);
    CHECK(https.exit_code == 1);
    CHECK(https.err.find(server.https_url()) != std::string::npos);
  }
  server.control(json::object());
  CHECK(pilot::test::run_pilot(
            {"dirac", "call", server.diset_url(), "requestJob",
             R"([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])", "--setup", "Test-Setup"},
            env)
            .exit_code == 0);
}
