// `pilot run` end to end on a local queue: real jobs, real processes, real signals.
#include <signal.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "mc/checkpoint.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::PilotProcess;
using pilot::test::run_pilot;
using pilot::test::wait_until;
namespace fs = std::filesystem;

namespace {

// Every test here beats every 0.5 s and watches the slot every 0.5 s.
struct Queue : pilot::agent::test::LocalQueue {
  Queue() : LocalQueue("agent-e2e") {}
  std::vector<std::string> args(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{"--set", "heartbeat_s=0.5", "--watch-period", "0.5"};
    a.insert(a.end(), extra.begin(), extra.end());
    return run_args(a);
  }
};

std::string toymc_jdl(const std::string& args, const std::string& extra = "") {
  return "[ Executable = \"" + std::string(TOYMC_BIN) + "\"; Arguments = \"" + args +
         "\"; JobType = \"MCSimulation\"; CPUTime = 600; " + extra + " ]";
}

std::string param(const json& status, const std::string& name) {
  return status["parameters"].value(name, std::string());
}

}  // namespace

TEST_CASE("agent: several jobs in sequence, each reported Done with its parameters") {
  Queue q;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(q.submit(toymc_jdl("--events 5 --cpu-ms-per-event 1")));
  auto r = run_pilot(q.args({"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 3);
  CHECK(s["jobs_succeeded"] == 3);
  // All three done, nothing else in the queue: no waiting for more.
  CHECK(s["stop_reason"] == "the job source holds no job, pending or running");
  for (const auto& id : ids) {
    auto st = q.show(id);
    CHECK(st["status"] == "Done");
    CHECK(st["minor_status"] == "Execution Complete");
    CHECK_FALSE(param(st, "TotalCPUTime(s)").empty());
    CHECK_FALSE(param(st, "WallClockTime(s)").empty());
    pilot::agent::test::check_history_in_time_order(st);
  }
}

TEST_CASE("agent: a 6-processor pilot runs four 1-processor jobs and one 2-processor job at once") {
  Queue q;
  auto meet = q.dir.path() / "meet";
  fs::create_directories(meet);
  // Each job announces itself and waits until all five are running: only concurrency passes.
  std::string script =
      "touch " + meet.string() + "/$JOBID; i=0; while [ $(ls " + meet.string() +
      " | wc -l) -lt 5 ]; do i=$((i+1)); [ $i -gt 300 ] && exit 7; sleep 0.1; done; echo met";
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i)
    ids.push_back(q.submit("[ Executable = \"/bin/sh\"; Arguments = \"-c '" + script +
                           "'\"; CPUTime = 60; ]"));
  ids.push_back(q.submit("[ Executable = \"/bin/sh\"; Arguments = \"-c '" + script +
                         "'\"; CPUTime = 60; NumberOfProcessors = 2; ]"));
  auto r = run_pilot(q.args({"--set", "processors=6"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_succeeded"] == 5);
  for (const auto& id : ids) CHECK(q.show(id)["status"] == "Done");
  auto two = q.show(ids.back());
  CHECK(two["processors"] == 2);
}

TEST_CASE(
    "agent: a reclaim signal interrupts three running MC jobs gracefully and reports every event") {
  Queue q;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(
        q.submit(toymc_jdl("--cpu-ms-per-event 5", "CPUe = 1; MaxNumberOfEvents = 100000;")));
  PilotProcess p(q.args({"--set", "processors=3", "--set", "grace_s=10"}), q.dir.path());
  auto checkpoints = [&] {
    int n = 0;
    std::error_code ec;
    for (auto& d : fs::directory_iterator(q.work(), ec)) {
      try {
        auto cp = pilot::mc::read_checkpoint(d.path() / "pilot-checkpoint.txt");
        n += cp && cp->events >= 3;
      } catch (...) {
      }
    }
    return n;
  };
  REQUIRE(wait_until([&] { return checkpoints() == 3; }));
  p.signal(SIGUSR1);
  auto rc = p.wait(std::chrono::seconds(30));
  INFO(p.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto s = pilot::test::last_json_line(p.out());
  CHECK(s["jobs_interrupted"] == 3);
  CHECK(s["stop_reason"] == "stopped by a signal");
  std::int64_t total = 0;
  for (const auto& id : ids) {
    auto st = q.show(id);
    CHECK(st["status"] == "Done");
    auto events = std::stoll(param(st, "NumberOfEvents"));
    CHECK(events >= 3);
    CHECK(param(st, "Interrupted") == "True");
    CHECK(events == pilot::test::count_lines(q.work() / ("job_" + id) / "toymc.out"));
    CHECK(st["events"] == events);  // the queue's own record of the kept events
    total += events;
  }
  CHECK(s["events"] == total);
}

TEST_CASE("agent: an MC job's CPUTime limit stops it gracefully before the watchdog kills it") {
  Queue q;
  // CPUTime 25 HS06 s at 10 HS06: a CPU limit of 25 / 10 x 1.2 = 3 s; the job is sized far beyond.
  auto id = q.submit(
      "[ Executable = \"" + std::string(TOYMC_BIN) +
      "\"; JobType = \"MCSimulation\"; CPUTime = 25; CPUe = 1; MaxNumberOfEvents = 1000000; ]");
  auto r = run_pilot(q.args({"--set", "processors=1", "--set", "grace_s=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto st = q.show(id);
  CHECK(st["status"] == "Done");
  CHECK(param(st, "Interrupted") == "True");
  auto events = std::stoll(param(st, "NumberOfEvents"));
  CHECK(events > 0);
  CHECK(events == pilot::test::count_lines(q.work() / ("job_" + id) / "toymc.out"));
  auto rec = json::parse(pilot::read_file(q.work() / ("job_" + id) / "job.json").value());
  CHECK(rec["reason"] == "stop_requested");
  CHECK_THAT(rec["reason_detail"].get<std::string>(), Catch::Contains("CPU limit approaching"));
  CHECK(rec["cpu_seconds"].get<double>() < 3.0);
}

TEST_CASE("agent: a drain file stops the pilot before it takes a job") {
  Queue q;
  auto id = q.submit(toymc_jdl("--events 1"));
  fs::create_directories(q.work());
  pilot::write_file_atomic(q.work() / "drain", "");
  auto r = run_pilot(q.args({"--set", "drain_file=" + (q.work() / "drain").string()}));
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 0);
  CHECK(s["stop_reason"] == "drain file present");
  CHECK(q.show(id)["status"] != "Done");
}

TEST_CASE("agent: a Kill command from the job source stops the payload at its next heartbeat") {
  Queue q;
  auto id = q.submit("[ Executable = \"/bin/sleep\"; Arguments = \"60\"; CPUTime = 600; ]");
  PilotProcess p(q.args({"--set", "processors=1"}), q.dir.path());
  REQUIRE(wait_until([&] {
    return q.show(id)["status"] == "Running" && q.show(id)["minor_status"] == "Application";
  }));
  auto k = run_pilot({"queue", "kill", "--queue", q.queue().string(), id});
  REQUIRE(k.exit_code == 0);
  auto rc = p.wait(std::chrono::seconds(40));
  INFO(p.err());
  REQUIRE(rc);
  auto st = q.show(id);
  CHECK(st["status"] == "Failed");
  CHECK(pilot::test::last_json_line(p.out())["jobs_failed"] == 1);
}

TEST_CASE(
    "agent: a payload exiting 222 has its job rescheduled, run again, and failed after the third "
    "time") {
  Queue q;
  // Each script counts its runs in a file of its own; `once` asks for a reschedule on its first run
  // only.
  auto script = [&](const std::string& name, const std::string& last) {
    auto f = pilot::test::write_counting_script(q.dir.path(), name, last);
    return "[ Executable = \"/bin/sh\"; Arguments = \"" + f.string() + "\"; CPUTime = 600; ]";
  };
  auto once = q.submit(script("once", "[ $n -ge 2 ] && exit 0; exit 222"));
  auto always = q.submit(script("always", "exit 222"));
  auto r = run_pilot(q.args({"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 6);
  CHECK(s["jobs_succeeded"] == 1);
  CHECK(s["jobs_rescheduled"] == 5);  // the pilot hands back; the queue decides it has had enough

  auto a = q.show(once);
  CHECK(a["status"] == "Done");
  CHECK(a["reschedules"] == 1);
  std::vector<std::string> flow;
  for (const auto& h : a["history"])
    flow.push_back(h["status"].get<std::string>() + "/" + h["minor_status"].get<std::string>());
  CHECK(std::find(flow.begin(), flow.end(), "Rescheduled/JobWrapper execution") != flow.end());
  CHECK(std::find(flow.begin(), flow.end(), "Waiting/Rescheduled: JobWrapper execution") !=
        flow.end());
  CHECK(pilot::read_file(q.dir.path() / "once") == "2\n");

  auto b = q.show(always);
  CHECK(b["status"] == "Failed");
  CHECK(b["minor_status"] == "Maximum of reschedulings reached");
  CHECK(b["reschedules"] == 3);
  CHECK(pilot::read_file(q.dir.path() / "always") == "4\n");
  // Each run started in a clean job directory; the earlier attempts are kept aside.
  CHECK(fs::is_directory(q.work() / ("earlier_job_" + once + "_1")));
  CHECK(fs::is_directory(q.work() / ("earlier_job_" + always + "_3")));
}

TEST_CASE(
    "agent: local queue InputSandbox files are copied in, OutputSandbox files filed in "
    "done/<id>/") {
  Queue q;
  fs::create_directories(q.dir.path() / "inputs");
  pilot::write_file_atomic(q.dir.path() / "inputs/data.txt", "local input\n");
  pilot::write_file_atomic(q.dir.path() / "run.sh", "cat data.txt > out.txt\n");
  auto id = q.submit(
      "[ Executable = \"/bin/sh\"; Arguments = \"run.sh\"; CPUTime = 600;"
      " InputSandbox = { \"run.sh\", \"inputs/data.txt\" }; OutputSandbox = { \"out.txt\" }; ]");
  CHECK(pilot::read_file(q.queue() / "pending" / id / "input/data.txt") == "local input\n");
  auto r = run_pilot(q.args({"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(q.show(id)["status"] == "Done");
  bool filed = false;
  for (const auto& e : fs::recursive_directory_iterator(q.queue() / "done" / id))
    if (e.path().filename() == "out.txt" && e.path().parent_path().filename() != "input")
      filed = filed || pilot::read_file(e.path()) == "local input\n";
  CHECK(filed);

  // references and missing files are refused at submission, naming the entry
  auto f = q.dir.path() / "bad.jdl";
  pilot::write_file_atomic(
      f, "[ Executable = \"/bin/true\"; InputSandbox = { \"SB:SandboxSE|/SandBox/x.tar.bz2\" }; ]");
  auto bad = run_pilot({"queue", "submit", "--queue", q.queue().string(), f.string()});
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("SB:SandboxSE|/SandBox/x.tar.bz2") &&
                          Catch::Contains("plain files only"));
  pilot::write_file_atomic(f,
                           "[ Executable = \"/bin/true\"; InputSandbox = { \"nothere.txt\" }; ]");
  auto missing = run_pilot({"queue", "submit", "--queue", q.queue().string(), f.string()});
  CHECK(missing.exit_code != 0);
  CHECK_THAT(missing.err, Catch::Contains("nothere.txt") && Catch::Contains("no such file"));
}
