// Fault injection, the long version (label `once`: release build only): JobStateUpdate answers
// HTTP 500 for 90 s and the Matcher fails for 60 s, while jobs are matched, run and finish. After
// the outage the server must hold every status change of every job, in order.
#include <catch2/catch.hpp>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/fs.hpp"
#include "fake_server.hpp"
#include "fault_dirac_support.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::test::PilotProcess;
using namespace std::chrono_literals;
using namespace pilot::agent::test;

TEST_CASE(
    "agent faults: JobStateUpdate answers 500 for 90 s and the Matcher fails for 60 s: every job "
    "and status arrives") {
  constexpr int kJobs = 4;
  FakeDirac server({"--jobs", std::to_string(kJobs)});
  auto jdls = sleeping_jobs(kJobs, 5);
  double t0 = epoch_now();
  // Job 1 is matched at once, under the JobStateUpdate outage; the Matcher fails from 10 s to 70 s
  // (the pilot's back-off grows meanwhile); the other jobs are matched after it recovers.
  server.control({{"jdl", jdls}, {"https", "500"}, {"https_until", t0 + 90}});
  pilot::TempDir dir("pilot-fault-outage");
  PilotProcess pilot(faulty_server_pilot_args(server, dir.path()), dir.path());
  REQUIRE(pilot::test::wait_until([&] { return !server.calls("requestJob").empty(); }, 30s));
  std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, t0 + 10 - epoch_now())));
  server.control({{"jdl", jdls},
                  {"https", "500"},
                  {"https_until", t0 + 90},
                  {"diset", "500"},
                  {"diset_until", t0 + 70}});
  auto rc = pilot.wait(240s);
  INFO(pilot.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto summary = pilot::test::last_json_line(pilot.out());
  CHECK(summary["jobs_succeeded"] == kJobs);
  auto seen = faults_seen(server);
  CHECK(seen["https 500"] > 10);
  CHECK(seen["diset refused with an error"] > 3);
  CHECK(epoch_now() - t0 > 90);  // the outage was ridden out, not cut short
  check_every_job_reported(server, dir.path() / "work", kJobs);
}
