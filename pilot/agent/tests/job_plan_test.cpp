#include <catch2/catch.hpp>
#include <signal.h>

#include "agent/job_plan.hpp"
#include "core/error.hpp"
#include "jobs/job_description.hpp"

using pilot::agent::split_arguments;
namespace jw = pilot::jobwrapper;

TEST_CASE("Arguments split like a shell splits words, without a shell") {
  using V = std::vector<std::string>;
  CHECK(split_arguments("") == V{});
  CHECK(split_arguments("  a  b\tc ") == V{"a", "b", "c"});
  CHECK(split_arguments("-c 'echo hi; exit 3'") == V{"-c", "echo hi; exit 3"});
  CHECK(split_arguments("\"a \\\"b\\\" $x\" c\\ d") == V{"a \"b\" $x", "c d"});
  CHECK(split_arguments("pre'quoted'post \"\"") == V{"prequotedpost", ""});
  CHECK(split_arguments("$(rm -rf /) ; `x`") == V{"$(rm", "-rf", "/)", ";", "`x`"});  // never evaluated
  CHECK_THROWS_WITH(split_arguments("'open"), Catch::Contains("unterminated"));
  CHECK_THROWS_AS(split_arguments("\"open"), pilot::Error);
}

TEST_CASE("a job spec carries the job's environment, stop signal and limits, never a shell") {
  auto job = pilot::jobs::parse_job_description(R"([ Executable = "gauss.exe"; Arguments = "-n 5 'opt file.py'";
      CPUTime = 3600; StopSignal = "USR1"; ExecutionEnvironment = { "GAUDI_FLAG=1" }; ])");
  pilot::agent::Config c;
  pilot::agent::BudgetView b;
  b.cpu_power_hs06 = 10;
  b.grace_s = 45;
  auto spec = pilot::agent::make_job_spec(job, "42", c, "/w/job_42", 2, b);
  CHECK(spec.argv == std::vector<std::string>{"gauss.exe", "-n", "5", "opt file.py"});
  CHECK(spec.stop_signal == SIGUSR1);
  CHECK(spec.grace_s == 45);
  CHECK(spec.env.set.at("GAUDI_FLAG") == "1");
  CHECK(spec.env.set.at("JOBID") == "42");
  CHECK(spec.env.set.at("OMP_NUM_THREADS") == "2");
  CHECK_FALSE(spec.env.pass_credentials);
  CHECK(spec.watchdog.cpu_limit_s == Approx(3600.0 / 10 * 1.2 * 2));
}

TEST_CASE("MC jobs are sized with the power of all their processors, unknown power is an error") {
  auto job = pilot::jobs::parse_job_description(R"([ Executable = "x"; CPUe = 5; MaxNumberOfEvents = 1000000; ])");
  pilot::agent::BudgetView b;
  b.wall_seconds_left = 100;
  b.wall_source = "shutdowntime";
  b.cpu_power_hs06 = 10;
  b.cpu_power_source = "mjf_job";
  auto o = pilot::agent::mc_options(job, b, 2);
  REQUIRE(o);
  auto s = pilot::mc::size_events(*o->sizing);
  CHECK(s.events == 320);  // floor(100 x 20 / 5) x 0.8
  CHECK(o->sizing->cpu_time_left_source == "shutdowntime");
  b.cpu_power_hs06.reset();
  CHECK_THROWS_WITH(pilot::agent::mc_options(job, b, 1), Catch::Contains("CPU power"));
  auto plain = pilot::jobs::parse_job_description(R"([ Executable = "x"; ])");
  CHECK_FALSE(pilot::agent::mc_options(plain, b, 1));
}

TEST_CASE("final reports follow DIRAC's status flow") {
  jw::JobRecord rec;
  rec.outcome = "success";
  rec.exit_code = 0;
  rec.cpu_seconds = 12.5;
  rec.wall_seconds = 20;
  auto ok = pilot::agent::final_report(rec, std::nullopt, 10);
  REQUIRE(ok.statuses.size() == 2);
  CHECK(ok.statuses[0].minor_status == "Application Finished Successfully");
  CHECK(ok.statuses[1].status == "Done");
  CHECK(ok.success);
  auto has = [](const auto& params, const std::string& k, const std::string& v) {
    for (const auto& [pk, pv] : params)
      if (pk == k) return pv == v;
    return false;
  };
  CHECK(has(ok.parameters, "NormCPUTime(s)", "125.00"));

  rec.outcome = "failed";
  rec.exit_code = 3;
  auto bad = pilot::agent::final_report(rec, std::nullopt, 10);
  CHECK(bad.statuses.back().status == "Failed");
  CHECK(bad.statuses.back().minor_status == "Application Finished With Errors");
  CHECK(bad.statuses[0].application_status == "Exit code 3");
  CHECK_FALSE(bad.rescheduled);

  // Exit code 222 (DIRAC's EWMSRESC & 255): the payload hands its job back.
  rec.exit_code = pilot::agent::kRescheduleExitCode;
  auto again = pilot::agent::final_report(rec, std::nullopt, 10);
  REQUIRE(again.statuses.size() == 3);
  CHECK(again.statuses[0].minor_status == "Application Finished With Errors");
  CHECK(again.statuses[1].status == "Completing");
  CHECK(again.statuses[1].minor_status == "Going to reschedule job");
  CHECK(again.statuses[2].status == "Rescheduled");
  CHECK(again.statuses[2].minor_status == "JobWrapper execution");
  CHECK(again.statuses[2].application_status == "Failed JobWrapper execution");
  CHECK(again.rescheduled);
  CHECK_FALSE(again.success);
  CHECK(has(again.parameters, "PayloadExitCode", "222"));

  rec.outcome = "killed";
  rec.exit_code.reset();
  rec.reason = jw::Reason::stalled;
  auto stalled = pilot::agent::final_report(rec, std::nullopt, 10);
  CHECK(stalled.statuses.back().minor_status == "Watchdog identified this job as stalled");

  rec.outcome = "stopped";
  rec.exit_code = 138;
  rec.reason = jw::Reason::stop_requested;
  pilot::mc::McResult mc;
  mc.events = 120;
  mc.events_source = "summary";
  mc.interrupted = true;
  mc.success = true;
  mc.detail = "interrupted after 120 events";
  auto inter = pilot::agent::final_report(rec, mc, 10);
  CHECK(inter.success);
  CHECK(inter.statuses[0].application_status == "interrupted after 120 events");
  CHECK(has(inter.parameters, "NumberOfEvents", "120"));
  CHECK(has(inter.parameters, "Interrupted", "True"));
}
