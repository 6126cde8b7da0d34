#include <signal.h>
#include <algorithm>
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include "agent/job_plan.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
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
  CHECK(split_arguments("$(rm -rf /) ; `x`") ==
        V{"$(rm", "-rf", "/)", ";", "`x`"});  // never evaluated
  CHECK_THROWS_WITH(split_arguments("'open"), Catch::Contains("unterminated"));
  CHECK_THROWS_AS(split_arguments("\"open"), pilot::Error);
}

TEST_CASE("a job spec carries the job's environment, stop signal and limits, never a shell") {
  auto job = pilot::jobs::parse_job_description(
      R"([ Executable = "gauss.exe"; Arguments = "-n 5 'opt file.py'";
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
  auto job = pilot::jobs::parse_job_description(
      R"([ Executable = "x"; CPUe = 5; MaxNumberOfEvents = 1000000; ])");
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
  rec.outcome = jw::Outcome::success;
  rec.exit_code = 0;
  rec.cpu_seconds = 12.5;
  rec.wall_seconds = 20;
  auto ok = pilot::agent::final_report(rec, std::nullopt, 10, 1);
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

  rec.outcome = jw::Outcome::failed;
  rec.exit_code = 3;
  auto bad = pilot::agent::final_report(rec, std::nullopt, 10, 1);
  // JobWrapper.execute reports Completing with errors, finalize a bare Failed; the application
  // status is the payload's to set.
  REQUIRE(bad.statuses.size() == 2);
  CHECK(bad.statuses[0].status == "Completing");
  CHECK(bad.statuses[0].minor_status == "Application Finished With Errors");
  CHECK(bad.statuses[0].application_status.empty());
  CHECK(bad.statuses[1].status == "Failed");
  CHECK(bad.statuses[1].minor_status.empty());
  CHECK(has(bad.parameters, "PayloadExitCode", "3"));
  CHECK_FALSE(bad.rescheduled);

  // Exit code 222 (DIRAC's EWMSRESC & 255): the payload hands its job back.
  rec.exit_code = pilot::agent::kRescheduleExitCode;
  auto again = pilot::agent::final_report(rec, std::nullopt, 10, 1);
  REQUIRE(again.statuses.size() == 3);
  CHECK(again.statuses[0].minor_status == "Application Finished With Errors");
  CHECK(again.statuses[1].status.empty());  // a minor status only, as DIRAC reports it
  CHECK(again.statuses[1].minor_status == "Going to reschedule job");
  CHECK(again.statuses[2].status == "Rescheduled");
  CHECK(again.statuses[2].minor_status == "JobWrapper execution");
  CHECK(again.statuses[2].application_status == "Failed JobWrapper execution ");
  CHECK(again.rescheduled);
  CHECK_FALSE(again.success);
  CHECK(has(again.parameters, "PayloadExitCode", "222"));

  rec.outcome = jw::Outcome::killed;
  rec.exit_code.reset();
  rec.reason = jw::Reason::stalled;
  auto stalled = pilot::agent::final_report(rec, std::nullopt, 10, 1);
  REQUIRE(stalled.statuses.size() == 2);
  CHECK(stalled.statuses[0].status == "Failed");
  CHECK(stalled.statuses[0].minor_status == "Watchdog identified this job as stalled");
  CHECK(stalled.statuses[1].status == "Failed");
  CHECK(stalled.statuses[1].minor_status.empty());

  // A Kill from the server, as DIRAC's Watchdog reports it.
  rec.reason = jw::Reason::stop_requested;
  rec.exit_code = 143;
  rec.extra["agent"]["kill_received"] = "2026-12-02T10:00:00Z";
  auto killed = pilot::agent::final_report(rec, std::nullopt, 10, 1);
  REQUIRE(killed.statuses.size() == 2);
  CHECK(killed.statuses[0].status == "Failed");
  CHECK(killed.statuses[0].minor_status == "Received Kill signal");
  CHECK(killed.statuses[1].minor_status.empty());
  rec.extra.erase("agent");

  // Wall time and its scaled value count every processor, as the Watchdog's summary does.
  rec.exit_code = 0;
  rec.outcome = jw::Outcome::success;
  rec.reason.reset();
  auto four = pilot::agent::final_report(rec, std::nullopt, 10, 4);
  CHECK(has(four.parameters, "WallClockTime(s)", "80.00"));
  CHECK(has(four.parameters, "ScaledCPUTime(s)", "800.00"));

  rec.outcome = jw::Outcome::stopped;
  rec.exit_code = 138;
  rec.reason = jw::Reason::stop_requested;
  pilot::mc::McResult mc;
  mc.events = 120;
  mc.events_source = "summary";
  mc.interrupted = true;
  mc.success = true;
  mc.detail = "interrupted after 120 events";
  auto inter = pilot::agent::final_report(rec, mc, 10, 1);
  CHECK(inter.success);
  CHECK(inter.statuses[0].application_status == "interrupted after 120 events");
  CHECK(has(inter.parameters, "NumberOfEvents", "120"));
  CHECK(has(inter.parameters, "Interrupted", "True"));
}

TEST_CASE(
    "a workflow job's end: its own ApplicationStatus stands unless it was interrupted, and its "
    "exit is explained") {
  namespace agent = pilot::agent;
  pilot::jobs::JobDescription d;
  d.executable = "dirac-jobexec";
  CHECK(agent::payload_kind(d) == agent::PayloadKind::dirac_workflow);
  d.executable = "/bin/echo";
  CHECK(agent::payload_kind(d) == agent::PayloadKind::plain);

  jw::JobRecord rec;
  rec.extra["agent"]["payload"] = std::string(agent::to_string(agent::PayloadKind::dirac_workflow));
  CHECK(agent::payload_kind(rec) == agent::PayloadKind::dirac_workflow);
  rec.outcome = jw::Outcome::success;
  rec.exit_code = 0;
  pilot::mc::McResult mc;
  mc.events = 50;
  mc.events_source = "summary";
  mc.success = true;
  mc.detail = "50 events";
  auto done = agent::final_report(rec, mc, 10, 1);
  CHECK(done.success);
  CHECK(done.statuses[0].application_status.empty());  // "Gauss successful" stays
  mc.interrupted = true;
  mc.detail = "interrupted after 50 events";
  rec.outcome = jw::Outcome::stopped;
  rec.reason = jw::Reason::stop_requested;
  rec.exit_code.reset();
  rec.signal = SIGUSR1;  // dirac-jobexec dies of it; its step finalised
  auto inter = agent::final_report(rec, mc, 10, 1);
  CHECK(inter.success);
  CHECK(inter.statuses[0].application_status == "interrupted after 50 events");

  rec = jw::JobRecord();
  rec.extra["agent"]["payload"] = "dirac_workflow";
  rec.outcome = jw::Outcome::failed;
  rec.exit_code = 232;
  auto failed = agent::final_report(rec, std::nullopt, 10, 1);
  CHECK(failed.statuses[0].minor_status == "Application Finished With Errors");
  CHECK(failed.statuses[0].application_status.empty());
  auto error = std::find_if(failed.parameters.begin(), failed.parameters.end(),
                            [](const auto& p) { return p.first == "ApplicationError"; });
  REQUIRE(error != failed.parameters.end());
  CHECK(error->second ==
        "a workflow step's executable could not be started (dirac-jobexec exit 232)");
  rec.extra["agent"]["payload"] = "plain";  // a plain payload's exit needs no explanation
  for (const auto& [name, value] : agent::final_report(rec, std::nullopt, 10, 1).parameters)
    CHECK(name != "ApplicationError");
}

TEST_CASE("the node's parameters as DIRAC's Watchdog reports them, read from a root") {
  pilot::TempDir root("node");
  std::filesystem::create_directories(root.path() / "proc");
  pilot::write_file_atomic(root.path() / "proc/cpuinfo",
                           "processor\t: 0\nmodel name\t: Test CPU @ 2.00GHz\nflags\t: fpu\n");
  pilot::write_file_atomic(root.path() / "proc/meminfo",
                           "MemTotal:       16000000 kB\nMemAvailable:    2097152 kB\n");
  std::map<std::string, std::string> env{{"PBS_JOBID", "12.pbs"}, {"JOB_ID", "77"}};
  auto node = pilot::agent::node_parameters("wn01.test", root.path(), [&](const char* n) {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  auto value = [](const auto& params, const std::string& k) {
    for (const auto& [pk, pv] : params)
      if (pk == k) return pv;
    return std::string("(absent)");
  };
  CHECK(value(node, "HostName") == "wn01.test");
  CHECK(value(node, "ModelName") == "Test CPU @ 2.00GHz");
  CHECK(value(node, "LocalJobID") == "77");  // the last of the Watchdog's variables wins
  CHECK(value(node, "LocalAccount") != "(absent)");
  auto start = pilot::agent::job_start_parameters(4242, node, root.path());
  CHECK(start.front() == std::pair<std::string, std::string>{"PayloadPID", "4242"});
  CHECK(value(start, "Memory(MB)") == "2048");
  CHECK(value(start, "HostName") == "wn01.test");
  CHECK(value(pilot::agent::job_start_parameters(0, {}, root.path()), "PayloadPID") == "(absent)");
}
