// Fault injection: the pilot SIGKILLed while its payload runs, and the payload carrying on
// without it. Its keeper (jobwrapper/keeper.hpp) keeps its output and its exit, so the pilot
// restarted on the same work directory files the job with what the payload really did, once.
#include <signal.h>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <optional>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/keeper.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

namespace fs = std::filesystem;
namespace jw = pilot::jobwrapper;
using namespace std::chrono_literals;

namespace {

// Starts a pilot with `args` and SIGKILLs it alone once job.json in `job_dir` says running.
void kill_pilot_while_running(const std::vector<std::string>& args, const fs::path& cwd,
                              const fs::path& job_dir) {
  pilot::test::PilotProcess first(args, cwd);
  REQUIRE(pilot::test::wait_until(
      [&] {
        auto rec = jw::load_job_record(job_dir);
        return rec && rec->state == jw::JobState::running;
      },
      30s));
  first.signal(SIGKILL);
  REQUIRE(first.wait(10s));
}

// A 2000-event toy MC job (25 ms of CPU per event): it outlives the pilot killed under it.
std::string submit_long_mc(const pilot::agent::test::LocalQueue& q) {
  return q.submit("[ Executable = \"" + std::string(TOYMC_BIN) +
                  "\"; Arguments = \"--cpu-ms-per-event 25\"; JobType = \"MCSimulation\";"
                  " CPUTime = 600; CPUe = 1; MaxNumberOfEvents = 2000; ]");
}

// Starts a pilot with `args` and SIGKILLs it alone once `job_dir` has 2 events checkpointed.
void kill_pilot_after_checkpoints(const std::vector<std::string>& args, const fs::path& cwd,
                                  const fs::path& job_dir) {
  pilot::test::PilotProcess first(args, cwd);
  REQUIRE(
      pilot::test::wait_until([&] { return pilot::test::checkpointed_events(job_dir) >= 2; }, 30s));
  first.signal(SIGKILL);
  REQUIRE(first.wait(10s));
}

// How many final statuses (Done or Failed) the job's history holds.
int final_status_count(const nlohmann::json& status) {
  int finals = 0;
  for (const auto& h : status["history"])
    if (h["status"] == "Done" || h["status"] == "Failed") ++finals;
  return finals;
}

}  // namespace

TEST_CASE("agent faults: a plain job that ends while its pilot is dead is filed with its exit") {
  auto exit_code = GENERATE(0, 3);
  pilot::agent::test::LocalQueue q("pilot-fault-orphan");
  // It writes after its pilot is gone: with the pilot holding its stdout it died of SIGPIPE.
  auto script = pilot::test::write_counting_script(
      q.dir.path(), "orphan",
      "echo before; sleep 2; echo after; echo err >&2; exit " + std::to_string(exit_code));
  auto id = q.submit("[ Executable = \"/bin/sh\"; Arguments = \"" + script.string() +
                     "\"; CPUTime = 600 ]");
  auto args = q.run_args();
  auto job_dir = q.work() / ("job_" + id);
  kill_pilot_while_running(args, q.dir.path(), job_dir);
  std::optional<jw::KeeperRecord> k;
  REQUIRE(pilot::test::wait_until(
      [&] {
        k = jw::load_keeper_record(job_dir);
        return k && k->state == jw::KeeperState::closed;
      },
      30s));
  CHECK(k->exit_code == exit_code);
  CHECK(k->stdout_log.bytes == std::string("before\nafter\n").size());
  CHECK(k->stderr_log.bytes == 4);
  CHECK(k->stdout_log.path == "std.out.zst");

  auto r = pilot::test::run_pilot(args);
  INFO(r.err.substr(0, 4000));
  CHECK(r.exit_code == 0);
  auto st = q.show(id);
  INFO(st.dump(1));
  CHECK(st["status"] == (exit_code == 0 ? "Done" : "Failed"));
  CHECK(pilot::read_file(q.dir.path() / "orphan").value_or("never") == "1\n");  // it ran once
  CHECK(final_status_count(st) == 1);
  auto rec = jw::load_job_record(job_dir);
  REQUIRE(rec);
  CHECK(rec->exit_code == exit_code);
  CHECK(rec->stdout_log.bytes == k->stdout_log.bytes);
  CHECK(rec->extra["lost_pilot"]["payload_ended_alone"] == true);
}

TEST_CASE(
    "agent faults: a lost pilot's running MC job runs once: pilot queue recover holds it, a "
    "pilot on a new work directory adopts it, and its reclaim stops it at an event boundary") {
  pilot::agent::test::LocalQueue q("pilot-fault-orphan-mc");
  auto id = submit_long_mc(q);
  auto args = q.run_args({"--set", "grace_s=5", "--watch-period", "0.2"});
  auto job_dir = q.work() / ("job_" + id);
  kill_pilot_after_checkpoints(args, q.dir.path(), job_dir);
  auto rec = jw::load_job_record(job_dir);
  REQUIRE(rec);
  REQUIRE(rec->pid > 1);
  REQUIRE(::kill(rec->pid, 0) == 0);  // the orphan runs on

  // The operator's recovery sees it is still running and leaves it alone.
  auto recover =
      pilot::test::run_pilot({"queue", "recover", "--queue", q.queue().string(), "--json"});
  INFO(recover.err);
  REQUIRE(recover.exit_code == 0);
  auto actions = nlohmann::json::parse(recover.out);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0]["verdict"] == "held");
  CHECK_THAT(actions[0]["reason"].get<std::string>(), Catch::Contains("keeper"));
  CHECK(fs::exists(q.queue() / "running" / id));

  // A pilot on another work directory finds it in the lost pilot's and adopts it there: the
  // payload runs on undisturbed, now owned by that pilot, until its slot is reclaimed; then it
  // stops at an event boundary and its events are reported, not run a second time.
  auto work2 = q.dir.path() / "work2";
  pilot::test::PilotProcess second(pilot::agent::test::with_workdir(args, work2), q.dir.path());
  REQUIRE(pilot::test::wait_until(
      [&] { return second.err().find("adopted a lost pilot's running job") != std::string::npos; },
      30s));
  auto claimed = q.show(id);
  CHECK(claimed["owner"]["pid"] == second.pid());
  CHECK(claimed["owner"]["workdir"] == q.work().string());
  auto before = pilot::test::checkpointed_events(job_dir);
  REQUIRE(pilot::test::wait_until(
      [&] { return pilot::test::checkpointed_events(job_dir) > before; }, 30s));
  CHECK(::kill(rec->pid, 0) == 0);  // the same payload
  second.signal(SIGTERM);
  auto rc = second.wait(30s);
  INFO(second.err().substr(0, 6000));
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK_THAT(second.err(),
             Catch::Contains("recovering a lost pilot's job from its work directory"));
  auto st = q.show(id);
  INFO(st.dump(1));
  REQUIRE(st["state"] == "done");
  CHECK(st["status"] == "Done");
  auto events = std::stoll(st["parameters"].value("NumberOfEvents", std::string("-1")));
  CHECK(events > before);
  CHECK(events < 2000);
  CHECK(st["parameters"].value("Interrupted", std::string()) == "True");
  auto summary = pilot::test::last_json_line(second.out());
  CHECK(summary["jobs_adopted"] == 1);
  CHECK(summary["jobs_interrupted"] == 1);
  CHECK(events == pilot::test::count_lines(job_dir / "toymc.out"));
  auto final_rec = jw::load_job_record(job_dir);
  REQUIRE(final_rec);
  CHECK(final_rec->pid == rec->pid);
  CHECK(final_rec->extra["lost_pilot"]["adopted"].size() == 1);
  CHECK_FALSE(fs::exists(work2 / ("job_" + id)));
  CHECK(::kill(rec->pid, 0) != 0);
  CHECK(final_status_count(st) == 1);
}

TEST_CASE(
    "agent faults: a plain job that ended after its pilot was lost is filed by a pilot on a new "
    "work directory, not run again") {
  pilot::agent::test::LocalQueue q("pilot-fault-orphan-new");
  auto script = pilot::test::write_counting_script(q.dir.path(), "orphan", "sleep 1; echo done");
  auto id = q.submit("[ Executable = \"/bin/sh\"; Arguments = \"" + script.string() +
                     "\"; CPUTime = 600 ]");
  auto args = q.run_args();
  auto job_dir = q.work() / ("job_" + id);
  kill_pilot_while_running(args, q.dir.path(), job_dir);
  REQUIRE(pilot::test::wait_until(
      [&] {
        auto k = jw::load_keeper_record(job_dir);
        return k && k->state == jw::KeeperState::closed;
      },
      30s));
  auto recover =
      pilot::test::run_pilot({"queue", "recover", "--queue", q.queue().string(), "--json"});
  REQUIRE(recover.exit_code == 0);
  auto actions = nlohmann::json::parse(recover.out);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0]["verdict"] == "held");  // its result waits for a pilot to report it
  CHECK_THAT(actions[0]["reason"].get<std::string>(), Catch::Contains("ended"));

  auto r = pilot::test::run_pilot(pilot::agent::test::with_workdir(args, q.dir.path() / "work2"));
  INFO(r.err.substr(0, 6000));
  CHECK(r.exit_code == 0);
  CHECK(q.show(id)["status"] == "Done");
  CHECK(pilot::read_file(q.dir.path() / "orphan").value_or("never") == "1\n");
}

TEST_CASE(
    "agent faults: a lost pilot's running MC job is not adopted by a pilot whose slot ends first: "
    "it is stopped at an event boundary and filed with its events, once") {
  pilot::agent::test::LocalQueue q("pilot-fault-orphan-late");
  auto id = submit_long_mc(q);
  auto args = q.run_args({"--set", "grace_s=5", "--watch-period", "0.2"});
  auto job_dir = q.work() / ("job_" + id);
  kill_pilot_after_checkpoints(args, q.dir.path(), job_dir);
  auto rec = jw::load_job_record(job_dir);
  REQUIRE(rec);
  REQUIRE(::kill(rec->pid, 0) == 0);
  auto checkpointed = pilot::test::checkpointed_events(job_dir);

  // Its slot ends within the grace: adopting the job would only mean stopping it at once.
  auto late = args;
  late.insert(late.end(), {"--set", "wall_limit_s=3"});
  auto r = pilot::test::run_pilot(late);
  INFO(r.err.substr(0, 6000));
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("a lost pilot's job is not adopted"));
  CHECK_THAT(r.err, Catch::Contains("the slot ends before it could"));
  CHECK_THAT(r.err, !Catch::Contains("adopted a lost pilot's running job"));
  CHECK(::kill(rec->pid, 0) != 0);
  auto st = q.show(id);
  INFO(st.dump(1));
  REQUIRE(st["state"] == "done");
  CHECK(st["status"] == "Done");
  auto events = std::stoll(st["parameters"].value("NumberOfEvents", std::string("-1")));
  CHECK(events >= checkpointed);
  CHECK(events < 2000);
  CHECK(events == pilot::test::count_lines(job_dir / "toymc.out"));
  CHECK(final_status_count(st) == 1);
}

TEST_CASE(
    "agent faults: on a kernel without pidfd_open a lost pilot's running job is adopted and "
    "watched by polling, and filed with its exit once it ends") {
  pilot::agent::test::LocalQueue q("pilot-fault-orphan-nopidfd");
  auto script = pilot::test::write_counting_script(q.dir.path(), "orphan",
                                                   "echo before; sleep 3; echo after; exit 0");
  auto id = q.submit("[ Executable = \"/bin/sh\"; Arguments = \"" + script.string() +
                     "\"; CPUTime = 600 ]");
  auto args = q.run_args();
  auto job_dir = q.work() / ("job_" + id);
  kill_pilot_while_running(args, q.dir.path(), job_dir);
  auto rec = jw::load_job_record(job_dir);
  REQUIRE(rec);
  REQUIRE(::kill(rec->pid, 0) == 0);

  pilot::test::PilotProcess second(args, q.dir.path(), {}, {NO_PIDFD_BIN});
  auto rc = second.wait(60s);
  INFO(second.err().substr(0, 6000));
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK_THAT(second.err(), Catch::Contains("adopted a lost pilot's running job"));
  CHECK_THAT(second.err(), Catch::Contains("no pidfds on this kernel"));
  auto st = q.show(id);
  INFO(st.dump(1));
  CHECK(st["status"] == "Done");
  CHECK(pilot::read_file(q.dir.path() / "orphan").value_or("never") == "1\n");
  CHECK(final_status_count(st) == 1);
  auto final_rec = jw::load_job_record(job_dir);
  REQUIRE(final_rec);
  CHECK(final_rec->pid == rec->pid);
  CHECK(final_rec->exit_code == 0);
  CHECK(final_rec->stdout_log.bytes == std::string("before\nafter\n").size());
  CHECK(final_rec->extra["lost_pilot"]["adopted"].size() == 1);
  auto summary = pilot::test::last_json_line(second.out());
  CHECK(summary["jobs_adopted"] == 1);
}
