// Fault injection: `pilot run` SIGKILLed at random points of an interruptible MC job's life
// (start-up, claim, running, final report), then restarted on the same work directory and local
// queue. The restarted pilot must always report the job (adopting it when its payload still
// runs), with at least the events checkpointed before the kill and exactly the events the payload
// wrote. PILOT_FAULT_SEED replays a run.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/job_record.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::PilotProcess;
using pilot::test::run_pilot;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// A 50-event MC job on a local queue, and the pilot's command line: a 5 s grace, heartbeats every
// 0.5 s, the slot watched every 0.2 s, a drain file of its own.
struct KillRun : pilot::agent::test::LocalQueue {
  KillRun() : LocalQueue("pilot-fault-kill") {}

  std::string submit(const std::string& arguments = "--cpu-ms-per-event 15") const {
    return LocalQueue::submit("[ Executable = \"" + std::string(TOYMC_BIN) + "\"; Arguments = \"" +
                              arguments +
                              "\"; JobType = \"MCSimulation\";"
                              " CPUTime = 600; CPUe = 1; MaxNumberOfEvents = 50; ]");
  }
  std::vector<std::string> args() const {
    return run_args({"--set", "wall_limit_s=100000", "--set", "grace_s=5", "--set",
                     "heartbeat_s=0.5", "--set", "drain_file=" + (dir.path() / "drain").string(),
                     "--watch-period", "0.2"});
  }
};

enum class KillAt { random_time, startup, final_report, pid_unrecorded };

// One life: start, SIGKILL at the chosen point, restart, check the job's report.
void kill_and_restart(KillAt at, std::mt19937& rng, const std::string& context) {
  KillRun k;
  auto id = k.submit();
  auto job_dir = k.work() / ("job_" + id);
  std::string when;
  std::int64_t checkpointed = 0;
  {
    PilotProcess first(k.args(), k.dir.path());
    if (at == KillAt::final_report) {
      // The moment the wrapper has written its final record, before the report is filed.
      pilot::test::wait_until(
          [&] {
            auto rec = pilot::jobwrapper::load_job_record(job_dir);
            return rec && rec->state == pilot::jobwrapper::JobState::finished;
          },
          30s);
      when = "after the job finished";
    } else if (at == KillAt::pid_unrecorded) {
      REQUIRE(pilot::test::wait_until(
          [&] { return pilot::test::checkpointed_events(job_dir) >= 2; }, 30s));
      when = "while the payload ran, its pid then erased from job.json";
    } else {
      int ms = std::uniform_int_distribution<int>(0, at == KillAt::startup ? 40 : 1600)(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      when = std::to_string(ms) + " ms after the start";
    }
    first.signal(SIGKILL);
    REQUIRE(first.wait(10s));
    checkpointed = pilot::test::checkpointed_events(job_dir);
    if (at == KillAt::pid_unrecorded) {
      // What a pilot killed between starting its payload and saving the pid leaves behind.
      auto rec = pilot::jobwrapper::load_job_record(job_dir);
      REQUIRE(rec);
      rec->pid = 0;
      rec->state = pilot::jobwrapper::JobState::prepared;
      pilot::jobwrapper::save_job_record(job_dir, *rec);
    }
  }
  INFO(context << ", killed " << when << ", " << checkpointed << " events checkpointed then");

  PilotProcess second(k.args(), k.dir.path());
  auto rc = second.wait(60s);
  INFO(second.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto st = k.show(id);
  INFO(st.dump(1));
  REQUIRE(st["state"] == "done");
  CHECK(st["status"] == "Done");
  auto events_text = st["parameters"].value("NumberOfEvents", std::string("-1"));
  auto events = std::stoll(events_text);
  CHECK(events >= checkpointed);
  CHECK(events >= 1);
  CHECK(events == pilot::test::count_lines(job_dir / "toymc.out"));
  CHECK_FALSE(fs::exists(job_dir / pilot::jobwrapper::kReserveName));
  if (at == KillAt::pid_unrecorded) {
    // Its keeper's record names it: adopted in place and run to its end, not set aside and run
    // a second time.
    CHECK_THAT(second.err(), Catch::Contains("adopted a lost pilot's running job"));
    CHECK(events == 50);
    for (const auto& e : fs::directory_iterator(k.work()))
      CHECK_FALSE(e.path().filename().string().starts_with("lost_"));
  }
}

std::uint32_t seed() {
  if (const char* s = std::getenv("PILOT_FAULT_SEED"))
    return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 10));
  return std::random_device{}();
}

}  // namespace

TEST_CASE(
    "agent faults: a pilot SIGKILLed at random points of an MC job's life: the restarted pilot "
    "reports the job") {
  auto s = seed();
  std::mt19937 rng(s);
  constexpr int kIterations = 20;
  for (int i = 0; i < kIterations; ++i)
    kill_and_restart(KillAt::random_time, rng,
                     "PILOT_FAULT_SEED=" + std::to_string(s) + " iteration " + std::to_string(i));
}

TEST_CASE(
    "agent faults: a pilot SIGKILLed during start-up, before recording its payload or during its "
    "final report: the restarted pilot reports the job") {
  auto s = seed();
  std::mt19937 rng(s);
  for (int i = 0; i < 3; ++i) {
    kill_and_restart(KillAt::startup, rng,
                     "PILOT_FAULT_SEED=" + std::to_string(s) + " start-up " + std::to_string(i));
    kill_and_restart(KillAt::final_report, rng, "final report " + std::to_string(i));
  }
  kill_and_restart(KillAt::pid_unrecorded, rng, "pid unrecorded");
}

TEST_CASE("agent faults: an empty job cgroup a lost pilot never recorded is removed") {
  auto place = pilot::jobwrapper::find_own_cgroup_place("/sys/fs/cgroup", "/proc");
  if (!place) {
    WARN("not tested here: no writable cgroup below this process's own (see /proc/self/cgroup)");
    return;
  }
  // The pid of a pilot that is gone: a child that has exited and been reaped.
  pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  REQUIRE(gone > 0);
  ::waitpid(gone, nullptr, 0);
  auto abandoned = place->dir / ("pilot-job-" + std::to_string(gone) + "-0123456789abcdef");
  REQUIRE(::mkdir(abandoned.c_str(), 0755) == 0);
  pilot::agent::test::LocalQueue q("pilot-fault-cgroup");
  auto id = q.submit("[ Executable = \"/bin/true\"; CPUTime = 600 ]");
  auto r = run_pilot(q.run_args());
  INFO(r.err.substr(0, 3000));
  CHECK(r.exit_code == 0);
  // Removed by this pilot, or by another test's pilot sweeping the same place first (ctest -j):
  // either way gone, which is the point.
  CHECK_FALSE(fs::exists(abandoned));
  if (fs::exists(abandoned)) ::rmdir(abandoned.c_str());
  CHECK(q.show(id)["status"] == "Done");
}

TEST_CASE("agent faults: an MC job whose slot was killed before its first event runs again") {
  KillRun k;
  auto id = k.submit("--events 1 --cpu-ms-per-event 1500");
  auto job_dir = k.work() / ("job_" + id);
  {
    PilotProcess first(k.args(), k.dir.path());
    std::optional<pilot::jobwrapper::JobRecord> rec;
    REQUIRE(pilot::test::wait_until(
        [&] {
          rec = pilot::jobwrapper::load_job_record(job_dir);
          return rec && rec->state == pilot::jobwrapper::JobState::running;
        },
        30s));
    // The whole slot goes (a batch kill, the OOM killer): the pilot and its payload's group.
    first.signal(SIGKILL);
    REQUIRE(rec->pid > 1);
    ::kill(-rec->pid, SIGKILL);
    REQUIRE(first.wait(10s));
  }
  REQUIRE(pilot::test::checkpointed_events(job_dir) == 0);
  PilotProcess second(k.args(), k.dir.path());
  auto rc = second.wait(60s);
  INFO(second.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  // Nothing was made: the job goes back to the queue and runs again, rather than being reported
  // Failed with no events.
  CHECK_THAT(second.err(), Catch::Contains("goes back to the job source"));
  auto st = k.show(id);
  INFO(st.dump(1));
  CHECK(st["status"] == "Done");
  CHECK(st["reschedules"] == 1);
  CHECK(st["parameters"].value("NumberOfEvents", std::string()) == "1");
}
