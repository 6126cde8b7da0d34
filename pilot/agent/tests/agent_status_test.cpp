// What the operators see of a running pilot (issue 19): its status file through `pilot status`
// (JSON, text, and in a real terminal with --watch), its Prometheus text file, and a status
// left by a pilot that died.
#include <signal.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <thread>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::PilotProcess;
using pilot::test::run_pilot;
using pilot::test::wait_until;
namespace fs = std::filesystem;

namespace {

struct Queue : pilot::agent::test::LocalQueue {
  Queue() : LocalQueue("agent-status") {}
  fs::path metrics() const { return dir.path() / "pilot-test.prom"; }
  std::vector<std::string> args(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{
        "--set", "heartbeat_s=0.5",     "--watch-period", "0.5",
        "--set", "status_period_s=0.3", "--set",          "metrics_textfile=" + metrics().string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_args(a);
  }
  // `pilot status --json` of the pilot's work directory: the exit code and the document.
  std::pair<int, json> status_json() const {
    auto r = run_pilot({"status", "--workdir", work().string(), "--json"});
    if (r.exit_code != 0 && r.exit_code != 3) return {r.exit_code, json()};
    return {r.exit_code, pilot::test::last_json_line(r.out)};
  }
};

// An MC job of 300 events at 20 ms each: about 6 s, checkpointing as it goes.
std::string mc_jdl() {
  return "[ Executable = \"" + std::string(TOYMC_BIN) +
         "\"; Arguments = \"--cpu-ms-per-event 20\"; JobType = \"MCSimulation\"; CPUTime = 600; "
         "CPUe = 1; MaxNumberOfEvents = 300; ]";
}

bool running_mc_job_with_events(const json& s) {
  if (!s.is_object() || s["status"]["jobs"].empty()) return false;
  const auto& job = s["status"]["jobs"][0];
  return job["state"] == "running" && job["events_done"].is_number() &&
         job["events_done"].get<std::int64_t>() > 0;
}

}  // namespace

TEST_CASE("status: pilot status shows a running MC job's progress, then the pilot's end") {
  Queue q;
  auto id = q.submit(mc_jdl());
  PilotProcess p(q.args({"--set", "processors=2"}), q.dir.path());
  json seen;
  REQUIRE(wait_until(
      [&] {
        auto [rc, s] = q.status_json();
        if (rc == 0 && running_mc_job_with_events(s)) seen = s;
        return !seen.is_null();
      },
      std::chrono::seconds(30)));
  INFO(seen.dump(1));
  const auto& st = seen["status"];
  CHECK(st["state"] == "running");
  CHECK(st["pid"] == p.pid());
  CHECK(st["slots_total"] == 2);
  CHECK(st["slots_busy"] == 1);
  CHECK(st["jobs"][0]["id"] == id);
  CHECK(st["jobs"][0]["mc"] == true);
  CHECK(st["jobs"][0]["events_planned"] == 300);
  CHECK(st["jobs"][0]["minor_status"] == "Application");
  CHECK(st["counters"]["requests"]["match"] == 1);
  CHECK(seen["stale"] == false);
  // The same, as a person reads it: a progress bar of events done / planned.
  auto text = run_pilot({"status", "--workdir", q.work().string()});
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("  state     running"));
  CHECK_THAT(text.out, Catch::Contains(id));
  CHECK_THAT(text.out, Catch::Contains("/300"));
  CHECK_THAT(text.out, !Catch::Contains("-1"));
  // `pilot queue list` shows the same progress, read from the status file of the job's pilot.
  auto list = run_pilot({"queue", "list", "--queue", q.queue().string()});
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("running, as their pilots see them:"));
  CHECK_THAT(list.out, Catch::Contains("/300"));
  auto listed =
      json::parse(run_pilot({"queue", "list", "--queue", q.queue().string(), "--json"}).out);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["progress"]["events_planned"] == 300);
  // And for node_exporter, with the running job counted.
  auto prom = pilot::read_file(q.metrics());
  REQUIRE(prom);
  CHECK_THAT(*prom, Catch::Contains("# TYPE pilot_jobs_running gauge"));
  CHECK_THAT(*prom, Catch::Contains("pilot_job_events_planned{"));

  auto rc = p.wait(std::chrono::seconds(60));
  INFO(p.err());
  REQUIRE(rc == 0);
  auto [end_rc, end] = q.status_json();
  CHECK(end_rc == 0);
  CHECK(end["status"]["state"] == "ended");
  CHECK(end["status"]["jobs"].empty());
  CHECK(end["status"]["counters"]["jobs_finished"]["succeeded"] == 1);
  CHECK(end["status"]["counters"]["events"] == 300);
  CHECK(end["stale"] == false);
  auto final_prom = pilot::read_file(q.metrics());
  REQUIRE(final_prom);
  CHECK_THAT(*final_prom, Catch::Contains("state=\"ended\"} 1"));
}

TEST_CASE("status: a pilot killed by SIGKILL leaves a status that says it is stale") {
  Queue q;
  q.submit("[ Executable = \"/bin/sleep\"; Arguments = \"2\"; CPUTime = 60; ]");
  PilotProcess p(q.args(), q.dir.path());
  REQUIRE(wait_until([&] {
    auto [rc, s] = q.status_json();
    return rc == 0 && s.is_object() && !s["status"]["jobs"].empty();
  }));
  p.signal(SIGKILL);
  REQUIRE(p.wait(std::chrono::seconds(10)));
  auto [rc, s] = q.status_json();
  CHECK(rc == 3);
  CHECK(s["stale"] == true);
  CHECK_THAT(s["why"].get<std::string>(), Catch::Contains("is not running"));
  auto text = run_pilot({"status", "--workdir", q.work().string()});
  CHECK(text.exit_code == 3);
  CHECK_THAT(text.out, Catch::StartsWith("STALE: pilot " + std::to_string(p.pid()) +
                                         " is not running; last written"));
  // The orphaned `sleep 2` and its keeper end by themselves before the directory goes.
  std::this_thread::sleep_for(std::chrono::seconds(3));
}

TEST_CASE("status: no status file is an error naming the directory") {
  pilot::TempDir dir("agent-status");
  auto r = run_pilot({"status", "--workdir", dir.path().string()});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains(dir.path().string()) && Catch::Contains("pilot-status.json"));
}

TEST_CASE("status: pilot status --watch redraws the progress in a real terminal (tmux)") {
  Queue q;
  q.submit(mc_jdl());
  PilotProcess p(q.args(), q.dir.path());
  pilot::TempDir tmux_dir("agent-status-tmux");
  pilot::CommandOptions options;
  options.set_env = {{"TMUX_TMPDIR", tmux_dir.path().string()}};
  std::string session = "pilot-status-test";
  auto tmux = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "tmux");
    auto r = pilot::run_command(args, options);
    if (!r) FAIL("tmux is not installed (ci/setup installs it)");
    return *r;
  };
  auto started = tmux(
      {"new-session", "-d", "-s", session, "-x", "160", "-y", "30",
       pilot::test::pilot_binary() + " status --workdir " + q.work().string() + " --watch 0.3"});
  REQUIRE(started.ok());
  std::string screen;
  bool progressed = wait_until(
      [&] {
        screen = tmux({"capture-pane", "-p", "-t", session}).out;
        return screen.find("[#") != std::string::npos;
      },
      std::chrono::seconds(30));
  tmux({"kill-server"});
  INFO(screen);
  CHECK(progressed);
  CHECK_THAT(screen, Catch::Contains("PROGRESS"));
  CHECK_THAT(screen, Catch::Contains("/300"));
  // Redrawn, not appended: one header on the screen.
  CHECK(screen.find("PROGRESS") == screen.rfind("PROGRESS"));
  CHECK(p.wait(std::chrono::seconds(60)) == 0);
}
