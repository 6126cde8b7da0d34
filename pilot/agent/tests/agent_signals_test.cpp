// Stop signals end `pilot run` promptly in every phase, and nothing is lost: an idle pilot in
// its back-off sleep, a pilot signalled during start-up, one whose last reports meet a
// JobStateUpdate that does not answer, one preparing a job from a SandboxStore that does not
// answer, and one waiting for a Matcher that does not answer.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/fs.hpp"
#include "fault_dirac_support.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::test::PilotProcess;
using pilot::test::wait_until;
using Clock = std::chrono::steady_clock;

namespace {

// Seconds from `sig` to the pilot's exit; the test fails when it does not end within `limit`.
double seconds_to_exit(PilotProcess& p, int sig, std::chrono::seconds limit,
                       std::optional<int>& rc) {
  auto sent = Clock::now();
  p.signal(sig);
  rc = p.wait(limit);
  return std::chrono::duration<double>(Clock::now() - sent).count();
}

}  // namespace

TEST_CASE(
    "signals: an idle pilot in its back-off sleep ends within 2 s of SIGTERM, SIGINT or SIGUSR1") {
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) {
    INFO("signal " << sig);
    FakeDirac server({"--jobs", "0"});
    pilot::TempDir dir("agent-signals");
    auto args = pilot::agent::test::faulty_server_pilot_args(server, dir.path());
    args.insert(args.end(), {"--set", "pacing.no_match_base_s=30", "--set",
                             "pacing.no_match_cap_s=30", "--set", "stop_after_failed_matches=100"});
    PilotProcess p(args, dir.path());
    REQUIRE(wait_until([&] { return !server.calls("requestJob").empty(); }));
    std::optional<int> rc;
    double took = seconds_to_exit(p, sig, std::chrono::seconds(20), rc);
    INFO(p.err());
    REQUIRE(rc);
    CHECK(*rc == 0);
    CHECK(took < 2.0);
    auto s = pilot::test::last_json_line(p.out());
    CHECK(s["stop_reason"] == "stopped by a signal");
  }
}

TEST_CASE("signals: SIGTERM during start-up is handled by the agent, not the default death") {
  FakeDirac server({"--jobs", "1"});
  pilot::TempDir dir("agent-signals");
  PilotProcess p(pilot::agent::test::faulty_server_pilot_args(server, dir.path()), dir.path());
  // Once the pilot has blocked the signals for its start-up: its first log line.
  REQUIRE(wait_until([&] { return !p.err().empty(); }, std::chrono::seconds(20)));
  std::optional<int> rc;
  double took = seconds_to_exit(p, SIGTERM, std::chrono::seconds(20), rc);
  INFO(p.err());
  REQUIRE(rc);
  CHECK(*rc == 0);  // handled by the agent, not the default death
  CHECK(took < 5.0);
  CHECK(pilot::test::last_json_line(p.out())["stop_reason"] == "stopped by a signal");
}

TEST_CASE(
    "signals: SIGTERM while the last reports wait for a JobStateUpdate that hangs ends the pilot, "
    "the reports kept") {
  FakeDirac server({"--jobs", "1"});
  // JobStateUpdate never answers: every report of the job waits in the buffer.
  server.control({{"jdl", pilot::agent::test::sleeping_jobs(1, 0.2)}, {"https", "hang"}});
  pilot::TempDir dir("agent-signals");
  auto args = pilot::agent::test::faulty_server_pilot_args(server, dir.path());
  args.insert(args.end(), {"--set", "report_retry_s=300"});
  PilotProcess p(args, dir.path());
  // The job has run and the pilot found nothing more to do: it is delivering its last reports.
  REQUIRE(wait_until([&] { return server.calls("requestJob").size() >= 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::optional<int> rc;
  double took = seconds_to_exit(p, SIGTERM, std::chrono::seconds(30), rc);
  INFO(p.err());
  REQUIRE(rc);
  CHECK(took < 5.0);
  auto text = pilot::read_file(dir.path() / "work" / ".pilot-state" / "dirac-reports.json");
  REQUIRE(text);
  auto kept = json::parse(*text);
  REQUIRE(kept["jobs"].size() == 1);  // for the next pilot
  CHECK_FALSE(kept["jobs"][0]["statuses"].empty());
}

namespace {

// The pilot's arguments with calls that would wait a whole minute for a server that does not
// answer: only giving up on it ends the pilot in time.
std::vector<std::string> patient_pilot_args(const FakeDirac& server,
                                            const std::filesystem::path& dir) {
  auto args = pilot::agent::test::faulty_server_pilot_args(server, dir);
  args.insert(args.end(), {"--set", "rpc_timeout_s=60", "--set",
                           "services.sandbox_store=[\"" +
                               server.diset_url("WorkloadManagement/SandboxStore") + "\"]"});
  return args;
}

bool hanging(const FakeDirac& server) {
  for (const auto& r : server.records())
    if (r.value("event", "") == "hanging") return true;
  return false;
}

// Once the server holds a call of the pilot's without answering: SIGTERM ends the pilot well
// before that call's 60 s time-out.
void ends_soon_after_sigterm_while_hanging(const FakeDirac& server, PilotProcess& p) {
  REQUIRE(wait_until([&] { return hanging(server); }, std::chrono::seconds(30)));
  std::optional<int> rc;
  double took = seconds_to_exit(p, SIGTERM, std::chrono::seconds(60), rc);
  INFO(p.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK(took < 5.0);
}

}  // namespace

TEST_CASE(
    "signals: SIGTERM while a job's input sandbox download hangs ends the pilot, the job's "
    "reports kept") {
  FakeDirac server({"--jobs", "1"});
  server.control({{"jdl",
                   {{"1",
                     "[ Executable = \"/bin/true\"; CPUTime = 600; JobID = 1; InputSandbox = "
                     "\"SB:SandboxSE|/SandBox/p/pilot.testvo_user/abc/def/abcdef.tar.bz2\"; ]"}}},
                  {"sandbox_store", "hang"}});
  pilot::TempDir dir("agent-signals");
  PilotProcess p(patient_pilot_args(server, dir.path()), dir.path());
  ends_soon_after_sigterm_while_hanging(server, p);
  auto s = pilot::test::last_json_line(p.out());
  CHECK(s["jobs_matched"] == 1);
  CHECK(s["jobs_failed"] == 1);
  // The job's last status, which the server did not take once the pilot stopped waiting, is on
  // disk for the next pilot.
  auto text = pilot::read_file(dir.path() / "work" / ".pilot-state" / "dirac-reports.json");
  REQUIRE(text);
  CHECK_THAT(*text, Catch::Contains("Pilot reclaimed before the job started"));
}

TEST_CASE("signals: SIGTERM while a job request waits for a Matcher that hangs ends the pilot") {
  FakeDirac server({"--jobs", "0"});
  pilot::TempDir dir("agent-signals");
  auto args = patient_pilot_args(server, dir.path());
  args.insert(args.end(), {"--set", "stop_after_failed_matches=1000"});
  PilotProcess p(args, dir.path());
  REQUIRE(wait_until([&] { return !server.calls("requestJob").empty(); }));
  server.control({{"diset", "hang"}});
  ends_soon_after_sigterm_while_hanging(server, p);
  CHECK(pilot::test::last_json_line(p.out())["stop_reason"] == "stopped by a signal");
}
