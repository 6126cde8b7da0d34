// Interruptible MC end to end: `pilot exec` supervising the toy MC payload, with real signals.
#include <signal.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "mc/checkpoint.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::PilotProcess;
using pilot::test::wait_until;

namespace {

// `pilot exec` of a long toy MC job in `job`, SIGKILLed once the wrapper has recorded at least
// `events` checkpointed events: the payload is left running as an orphan.
void kill_pilot_mid_job(const std::filesystem::path& dir, const std::filesystem::path& job,
                        std::int64_t events) {
  PilotProcess p({"exec", "--workdir", job.string(), "--events", "100000", "--poll", "0.05",
                  "--json", "--", TOYMC_BIN, "--cpu-ms-per-event", "5"},
                 dir);
  REQUIRE(wait_until([&] {
    auto rec = pilot::read_file(job / "job.json");
    return rec && json::parse(*rec)["extra"]["mc"].contains("checkpoint") &&
           pilot::test::checkpointed_events(job) >= events;
  }));
  p.signal(SIGKILL);
  REQUIRE(p.wait());
}

}  // namespace

TEST_CASE("MC: a full run reports every event from the finalised summary") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--events", "25", "--poll",
                                   "0.1", "--json", "--", TOYMC_BIN, "--cpu-ms-per-event", "1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = pilot::test::last_json_line(r.out);
  CHECK(j["events"] == 25);
  CHECK(j["events_source"] == "summary");
  CHECK(j["interrupted"] == false);
  CHECK(j["outputs"] == json::array({"toymc.out"}));
  CHECK(pilot::test::count_lines(job / "toymc.out") == 25);
}

TEST_CASE(
    "MC: the number of events reaches the payload through the @{NumberOfEvents} placeholder") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--events", "7", "--json",
                                   "--", TOYMC_BIN, "--events", "@{NumberOfEvents}",
                                   "--cpu-ms-per-event", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK(pilot::test::last_json_line(r.out)["events"] == 7);
}

TEST_CASE("MC: SIGUSR1 to the pilot stops the payload at an event boundary, the count is exact") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  PilotProcess p({"exec", "--workdir", job.string(), "--events", "100000", "--poll", "0.1",
                  "--stop-signal", "USR1", "--json", "--", TOYMC_BIN, "--cpu-ms-per-event", "5"},
                 dir.path());
  REQUIRE(wait_until([&] { return pilot::test::checkpointed_events(job) >= 5; }));
  p.signal(SIGUSR1);
  auto rc = p.wait();
  INFO(p.err());
  REQUIRE(rc);
  CHECK(*rc == 128 + SIGUSR1);
  auto j = pilot::test::last_json_line(p.out());
  CHECK(j["interrupted"] == true);
  CHECK(j["events_source"] == "summary");
  auto events = j["events"].get<std::int64_t>();
  CHECK(events >= 5);
  CHECK(events < 100000);
  CHECK(events ==
        pilot::test::count_lines(job / "toymc.out"));  // every event made is counted, none invented
  CHECK(j["outcome"] == "stopped");
  auto rec = json::parse(pilot::read_file(job / "job.json").value());
  CHECK(rec["extra"]["mc"]["result"]["success"] == true);
  CHECK(rec["extra"]["mc"]["result"]["detail"] ==
        "interrupted after " + std::to_string(events) + " events");
}

TEST_CASE(
    "MC: a payload that ignores the stop signal is escalated, its last checkpoint is reported") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  PilotProcess p({"exec", "--workdir", job.string(), "--events", "100000", "--poll", "0.1",
                  "--grace", "0.5", "--term-grace", "0.5", "--json", "--", TOYMC_BIN,
                  "--cpu-ms-per-event", "2", "--ignore-stop"},
                 dir.path());
  REQUIRE(wait_until([&] { return pilot::test::checkpointed_events(job) >= 3; }));
  p.signal(SIGTERM);
  auto rc = p.wait();
  REQUIRE(rc);
  CHECK(*rc == 128 + SIGTERM);  // the payload died of the escalation's SIGTERM
  auto j = pilot::test::last_json_line(p.out());
  CHECK(j["events_source"] == "checkpoint");
  CHECK(j["interrupted"] == false);
  auto events = j["events"].get<std::int64_t>();
  CHECK(events >= 3);
  CHECK(pilot::test::count_lines(job / "toymc.out") >= events);
  auto rec = json::parse(pilot::read_file(job / "job.json").value());
  CHECK(rec["extra"]["mc"]["result"]["success"] == false);
  CHECK_THAT(rec["extra"]["mc"]["result"]["detail"].get<std::string>(),
             Catch::Contains("without finalising"));
}

TEST_CASE("MC: the time left stops the payload gracefully before the deadline") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto start = std::chrono::steady_clock::now();
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--events", "100000",
                                   "--poll", "0.1", "--time-left", "2", "--grace", "1", "--json",
                                   "--", TOYMC_BIN, "--cpu-ms-per-event", "5"});
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto j = pilot::test::last_json_line(r.out);
  CHECK(r.exit_code == 128 + SIGINT);
  CHECK(j["interrupted"] == true);
  CHECK(j["events"].get<std::int64_t>() == pilot::test::count_lines(job / "toymc.out"));
  CHECK(took < 2.0);  // stopped before the slot's end, not at it
  CHECK_THAT(j["reason_detail"].get<std::string>(), Catch::Contains("time_left approaching"));
}

TEST_CASE(
    "MC: the number of events is sized from time left, power and CPUe, nothing starts when none "
    "fit") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  // floor(floor(60 x 10) / 20) = 30 events fit; x 0.8 = 24
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--cpue", "20", "--cpu-power",
                                   "10", "--time-left", "60", "--json", "--", TOYMC_BIN,
                                   "--cpu-ms-per-event", "1"});
  REQUIRE(r.exit_code == 0);
  auto j = pilot::test::last_json_line(r.out);
  CHECK(j["events_requested"] == 24);
  CHECK(j["events"] == 24);
  auto rec = json::parse(pilot::read_file(job / "job.json").value());
  CHECK(rec["extra"]["mc"]["sizing"]["cpu_power_source"] == "--cpu-power");
  CHECK(rec["extra"]["mc"]["sizing"]["events_fit"] == 30);

  auto none =
      pilot::test::run_pilot({"exec", "--workdir", (dir.path() / "none").string(), "--cpue", "1000",
                              "--cpu-power", "10", "--time-left", "60", "--", TOYMC_BIN});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.err, Catch::Contains("No time left to produce events"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "none" / "toymc.out"));
}

TEST_CASE("MC: a pilot SIGKILLed mid-job is recovered by the next one with the events made") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  kill_pilot_mid_job(dir.path(), job, 5);
  // The payload outlived its pilot; the next pilot stops it gracefully and reports its events.
  auto r = pilot::test::run_pilot(
      {"exec", "--workdir", job.string(), "--recover", "--grace", "5", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = pilot::test::last_json_line(r.out);
  CHECK(j["outcome"] == "lost");
  auto events = j["events"].get<std::int64_t>();
  CHECK(events >= 5);
  CHECK(events == pilot::test::count_lines(job / "toymc.out"));
  CHECK(j["events_source"] == "summary");  // the orphan got the stop signal and finalised
  auto again = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--recover"});
  CHECK(again.exit_code == 1);  // nothing left to recover
}

TEST_CASE(
    "MC: a payload whose pid the killed pilot never recorded is found by its keeper's record and "
    "recovered") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  kill_pilot_mid_job(dir.path(), job, 3);
  // What a pilot killed between starting the payload and saving its pid leaves behind.
  auto rec = json::parse(*pilot::read_file(job / "job.json"));
  rec["pid"] = nullptr;
  rec["state"] = "prepared";
  pilot::write_file_atomic(job / "job.json", rec.dump());
  auto r = pilot::test::run_pilot(
      {"exec", "--workdir", job.string(), "--recover", "--grace", "5", "--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("runs without a recorded pid: found by its keeper's record"));
  auto j = pilot::test::last_json_line(r.out);
  CHECK(j["pid"].get<int>() > 1);
  auto events = j["events"].get<std::int64_t>();
  CHECK(events >= 3);
  CHECK(events == pilot::test::count_lines(job / "toymc.out"));
  CHECK(j["events_source"] == "summary");  // the orphan was found, stopped and finalised
}

TEST_CASE("MC: an MJF shutdown announced mid-run stops the payload gracefully in time") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto mf = dir.path() / "machinefeatures", jf = dir.path() / "jobfeatures";
  std::filesystem::create_directories(mf);
  std::filesystem::create_directories(jf);
  pilot::write_file_atomic(mf / "hs06", "100\n");
  pilot::write_file_atomic(mf / "total_cpu", "10\n");
  PilotProcess p(
      {"exec", "--workdir", job.string(), "--events", "1000000", "--poll", "0.1", "--grace", "1",
       "--watch-period", "0.2", "--json", "--", TOYMC_BIN, "--cpu-ms-per-event", "5"},
      dir.path(), {{"MACHINEFEATURES", mf.string()}, {"JOBFEATURES", jf.string()}});
  REQUIRE(wait_until([&] { return pilot::test::checkpointed_events(job) >= 5; }));
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  pilot::write_file_atomic(jf / "shutdowntime_job", std::to_string(now + 3) + "\n");
  auto rc = p.wait(std::chrono::seconds(20));
  auto stopped = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  INFO(p.err());
  REQUIRE(rc);
  CHECK(*rc == 128 + SIGINT);
  CHECK(stopped <= now + 3);  // before the announced shutdown
  auto j = pilot::test::last_json_line(p.out());
  CHECK(j["interrupted"] == true);
  CHECK_THAT(j["reason_detail"].get<std::string>(), Catch::Contains("shutdowntime_job"));
  CHECK(j["events"].get<std::int64_t>() == pilot::test::count_lines(job / "toymc.out"));
}

TEST_CASE("MC: the number of events is sized from MJF values") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto jf = dir.path() / "jobfeatures";
  std::filesystem::create_directories(jf);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  pilot::write_file_atomic(jf / "allocated_cpu", "2\n");
  pilot::write_file_atomic(jf / "hs06_job", "20\n");  // 10 HS06 per processor
  pilot::write_file_atomic(jf / "jobstart_secs", std::to_string(now) + "\n");
  pilot::write_file_atomic(jf / "wall_limit_secs", "100\n");
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--cpue", "20", "--json",
                                   "--", TOYMC_BIN, "--cpu-ms-per-event", "1"},
                                  {{"JOBFEATURES", jf.string()}, {"MACHINEFEATURES", ""}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto j = pilot::test::last_json_line(r.out);
  // floor(floor(~99 x 10) / 20) = 49 or 50 fit; x 0.8 = 39 or 40
  CHECK(j["events_requested"].get<std::int64_t>() >= 39);
  CHECK(j["events_requested"].get<std::int64_t>() <= 40);
  auto rec = json::parse(pilot::read_file(job / "job.json").value());
  CHECK(rec["extra"]["mc"]["sizing"]["cpu_power_source"] == "mjf_job");
  CHECK(rec["extra"]["mc"]["sizing"]["cpu_time_left_source"] == "wall_limit");
}

TEST_CASE("MC: a CPU limit stops the payload gracefully before the watchdog kills it") {
  pilot::TempDir dir("mc-e2e");
  auto job = dir.path() / "job";
  auto r = pilot::test::run_pilot({"exec", "--workdir", job.string(), "--events", "1000000",
                                   "--cpu-limit", "3", "--grace", "1", "--poll", "0.1", "--json",
                                   "--", TOYMC_BIN});
  INFO(r.err);
  auto j = pilot::test::last_json_line(r.out);
  CHECK(r.exit_code == 128 + SIGINT);  // the payload's own exit after the stop signal, not a kill
  CHECK(j["interrupted"] == true);
  CHECK(j["events_source"] == "summary");
  CHECK(j["reason"] == "stop_requested");
  CHECK_THAT(j["reason_detail"].get<std::string>(), Catch::Contains("CPU limit approaching"));
  auto events = j["events"].get<std::int64_t>();
  CHECK(events > 0);
  CHECK(events == pilot::test::count_lines(job / "toymc.out"));
  CHECK(j["cpu_seconds"].get<double>() < 3.0);
  auto rec = json::parse(pilot::read_file(job / "job.json").value());
  CHECK(rec["extra"]["mc"]["result"]["success"] == true);
  for (const auto& c : rec["checks"]) CHECK(c["reason"] != "cpu_time");  // the watchdog never fired
}
