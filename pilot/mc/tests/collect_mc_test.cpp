// How a finished MC job is classified from its record and its job directory: a plain payload by
// its own exit, a step of a DIRAC workflow by the step's summary.
#include <signal.h>

#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "mc/interruptible.hpp"

namespace jw = pilot::jobwrapper;

namespace {

const char* kFinalised = R"(<summary><success>True</success><step>finalize</step>
  <output><file GUID="" name="PFN:Gauss.sim" status="full">42</file></output></summary>)";

jw::JobRecord stopped_record(const pilot::TempDir& dir, bool workflow_step) {
  jw::JobRecord rec;
  rec.workdir = dir.path().string();
  rec.stop_requested_at = "2026-12-03T10:00:00Z";
  rec.extra["mc"]["workflow_step"] = workflow_step;
  pilot::write_file_atomic(dir.path() / "summaryGauss_00012345_00000001_1.xml", kFinalised);
  return rec;
}

}  // namespace

TEST_CASE("collect_mc: a plain payload is interrupted only by its own 128 + stop signal") {
  pilot::TempDir dir("collect-mc");
  auto rec = stopped_record(dir, false);
  rec.exit_code = 128 + SIGUSR1;
  auto r = pilot::mc::collect_mc(rec, SIGUSR1, "");
  CHECK(r.success);
  CHECK(r.interrupted);
  CHECK(r.events == 42);
  CHECK(r.detail == "interrupted after 42 events");

  rec.exit_code.reset();
  rec.signal = SIGUSR1;  // died of the signal without finalising by its own account
  r = pilot::mc::collect_mc(rec, SIGUSR1, "");
  CHECK_FALSE(r.success);
  CHECK_FALSE(r.interrupted);
}

TEST_CASE(
    "collect_mc: a workflow step is interrupted when its summary is finalised, whatever "
    "dirac-jobexec did") {
  pilot::TempDir dir("collect-mc");
  auto rec = stopped_record(dir, true);
  rec.signal = SIGUSR1;  // dirac-jobexec dies of SIGUSR1
  auto r = pilot::mc::collect_mc(rec, SIGUSR1, "");
  CHECK(r.success);
  CHECK(r.interrupted);
  CHECK(r.events == 42);
  CHECK(r.events_source == "summary");

  rec.signal.reset();
  rec.exit_code = 1;  // SIGINT: KeyboardInterrupt
  r = pilot::mc::collect_mc(rec, SIGINT, "");
  CHECK(r.success);
  CHECK(r.interrupted);

  // The step did not finalise: the job failed, the events are those of the summary so far.
  pilot::write_file_atomic(dir.path() / "summaryGauss_00012345_00000001_1.xml",
                           "<summary><success>False</success><step>execute</step></summary>");
  r = pilot::mc::collect_mc(rec, SIGINT, "");
  CHECK_FALSE(r.success);
  CHECK_FALSE(r.interrupted);

  // Without a stop request, exit 0 is a workflow that ran to its end.
  pilot::write_file_atomic(dir.path() / "summaryGauss_00012345_00000001_1.xml", kFinalised);
  rec.stop_requested_at.clear();
  rec.exit_code = 0;
  r = pilot::mc::collect_mc(rec, SIGINT, "");
  CHECK(r.success);
  CHECK_FALSE(r.interrupted);
  CHECK(r.detail == "42 events");
}

TEST_CASE("recover_mc: a lost pilot's job with events is a success, whoever files it") {
  pilot::TempDir dir("collect-mc");
  jw::JobRecord rec;
  rec.job_id = "1";
  rec.workdir = dir.path().string();
  rec.extra["mc"]["summary_file"] = "";
  jw::save_job_record(dir.path(), rec);
  auto none = pilot::mc::recover_mc(dir.path());
  REQUIRE(none);
  CHECK_FALSE(none->success);  // nothing known: nothing to report as made
  pilot::write_file_atomic(dir.path() / "summaryGauss_00012345_00000001_1.xml", kFinalised);
  auto r = pilot::mc::recover_mc(dir.path());
  REQUIRE(r);
  CHECK(r->success);
  CHECK(r->interrupted);
  CHECK(r->events == 42);
}

TEST_CASE("an adopted MC job is read back as its lost pilot recorded it, a damaged one named") {
  pilot::TempDir dir("mc-record");
  pilot::mc::McJob job;
  job.events_requested = 1234;
  job.stop_signal = SIGUSR2;
  job.checkpoint_file = dir.path() / "pilot-checkpoint.txt";
  job.summary_file = "summary.xml";
  job.workflow_step = true;
  job.sizing = {{"events", 1234}};
  job.last = pilot::mc::Checkpoint{56, {"out.sim"}, {}};
  jw::JobRecord rec;
  rec.job_id = "7";
  rec.workdir = dir.path().string();
  pilot::mc::record_mc(rec, job);
  // Through job.json, as a restarted pilot reads it.
  auto back = pilot::mc::mc_job_from_record(jw::job_record_from_json(jw::to_json(rec)));
  CHECK(back.events_requested == 1234);
  CHECK(back.stop_signal == SIGUSR2);
  CHECK(back.checkpoint_file == job.checkpoint_file);
  CHECK(back.summary_file == "summary.xml");
  CHECK(back.workflow_step);
  CHECK(back.sizing == job.sizing);
  REQUIRE(back.last);
  CHECK(*back.last == *job.last);

  for (auto bad : {nlohmann::ordered_json(2.5e40), nlohmann::ordered_json(-3),
                   nlohmann::ordered_json("many")}) {
    auto damaged = rec;
    damaged.extra["mc"]["events_requested"] = bad;
    CHECK_THROWS_WITH(
        pilot::mc::mc_job_from_record(damaged),
        Catch::Contains("job 7 record extra.mc") && Catch::Contains("events_requested"));
  }
  auto huge_signal = rec;
  huge_signal.extra["mc"]["stop_signal"] = 1000;
  CHECK_THROWS_WITH(pilot::mc::mc_job_from_record(huge_signal), Catch::Contains("stop_signal"));
  jw::JobRecord none;
  none.job_id = "8";
  CHECK_THROWS_WITH(pilot::mc::mc_job_from_record(none), Catch::Contains("missing"));
}
