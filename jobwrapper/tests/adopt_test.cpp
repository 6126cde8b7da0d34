// Adopting a lost pilot's job: a supervisor in a forked "pilot" starts the payload and that
// process is SIGKILLed; a supervisor here takes the job over from its record and its keeper (this
// test binary is its own keeper, tests/keeper_test_main.cpp).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/fs.hpp"
#include "jobwrapper/keeper.hpp"
#include "jobwrapper/lost_job.hpp"
#include "jobwrapper/supervisor.hpp"
#include "quick_spec.hpp"

namespace jw = pilot::jobwrapper;
using Catch::Matchers::Contains;
using jw::test::quick_spec;

namespace {

// Starts `spec`'s payload from a forked process that is SIGKILLed once the job runs: what a
// pilot killed mid-job leaves. Returns the record it left.
jw::JobRecord start_and_lose_pilot(const jw::JobSpec& spec) {
  pid_t pilot = ::fork();
  REQUIRE(pilot >= 0);
  if (pilot == 0) {
    pilot::process::asio::io_context ctx;
    jw::Hooks hooks;
    hooks.on_started = [](jw::Supervisor&) { ::raise(SIGKILL); };
    jw::Supervisor sup(ctx, spec, std::move(hooks), {});
    sup.start();
    ctx.run();
    ::_exit(1);  // not started
  }
  int status = 0;
  REQUIRE(::waitpid(pilot, &status, 0) == pilot);
  REQUIRE(WIFSIGNALED(status));
  auto rec = jw::load_job_record(spec.workdir);
  REQUIRE(rec);
  REQUIRE(rec->state == jw::JobState::running);
  return *rec;
}

jw::JobRecord adopt_and_run(const jw::JobSpec& spec, const jw::JobRecord& lost,
                            const std::function<void(jw::Supervisor&)>& meanwhile = {}) {
  pilot::process::asio::io_context ctx;
  jw::Supervisor sup(ctx, spec, {}, {});
  sup.adopt(lost);
  if (meanwhile) meanwhile(sup);
  ctx.run();
  REQUIRE(sup.finished());
  return sup.record();
}

}  // namespace

TEST_CASE("an adopted job runs to its end: its exit, output, wall time and CPU are recorded") {
  pilot::TempDir d("adopt");
  auto spec =
      quick_spec(d, {"/bin/sh", "-c", "echo before; sleep 1; echo after; echo err >&2; exit 3"});
  auto lost = start_and_lose_pilot(spec);
  CHECK_FALSE(jw::adoption_refusal(lost, spec.workdir, "/proc"));
  auto began = std::chrono::steady_clock::now();
  auto rec = adopt_and_run(spec, lost);
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  CHECK(rec.state == jw::JobState::finished);
  CHECK(rec.outcome == jw::Outcome::failed);
  CHECK(rec.exit_code == 3);
  CHECK(rec.pid == lost.pid);
  CHECK(rec.pilot_pid == ::getpid());
  CHECK(rec.stdout_log.bytes == std::string("before\nafter\n").size());
  CHECK(rec.stderr_log.bytes == 4);
  CHECK(rec.wall_seconds >= 0.9);  // counted from the start, not from the adoption
  CHECK(took < 5);
  REQUIRE(rec.extra["lost_pilot"]["adopted"].size() == 1);
  CHECK(rec.extra["lost_pilot"]["adopted"][0]["by"] == ::getpid());
  CHECK_FALSE(std::filesystem::exists(spec.workdir / jw::kReserveName));
  auto k = jw::load_keeper_record(spec.workdir);
  REQUIRE(k);
  CHECK(k->state == jw::KeeperState::closed);
  CHECK_FALSE(jw::keeper_alive(*k, "/proc"));
  auto again = jw::load_job_record(spec.workdir);
  REQUIRE(again);
  CHECK(again->outcome == jw::Outcome::failed);  // saved
}

TEST_CASE(
    "an adopted job is stopped on request as one started here: the stop signal, then its "
    "exit") {
  pilot::TempDir d("adopt-stop");
  auto spec =
      quick_spec(d, {"/bin/sh", "-c", "trap 'echo stopped; exit 130' INT; sleep 30 & wait"});
  auto lost = start_and_lose_pilot(spec);
  auto rec = adopt_and_run(spec, lost, [](jw::Supervisor& s) { s.request_stop("reclaimed"); });
  CHECK(rec.outcome == jw::Outcome::stopped);
  CHECK(rec.reason == jw::Reason::stop_requested);
  REQUIRE_FALSE(rec.signals_sent.empty());
  CHECK(rec.signals_sent.front().signal == "SIGINT");
  CHECK(rec.exit_code == 130);
  CHECK(rec.wall_seconds < 10);
}

TEST_CASE("an adopted job whose pid its lost pilot never saved gets it from its keeper's record") {
  pilot::TempDir d("adopt-unrecorded");
  auto spec = quick_spec(d, {"/bin/sh", "-c", "sleep 0.5; exit 0"});
  auto lost = start_and_lose_pilot(spec);
  auto pid = lost.pid;
  lost.pid = 0;
  lost.keeper_pid = 0;
  lost.started_at.clear();
  lost.state = jw::JobState::prepared;
  CHECK_FALSE(jw::adoption_refusal(lost, spec.workdir, "/proc"));
  auto rec = adopt_and_run(spec, lost);
  CHECK(rec.pid == pid);
  CHECK(rec.keeper_pid > 1);
  CHECK_FALSE(rec.started_at.empty());
  CHECK(rec.outcome == jw::Outcome::success);
}

TEST_CASE("a lost job is not adopted once it is finished, being stopped, or its payload ended") {
  pilot::TempDir d("adopt-refused");
  auto spec = quick_spec(d, {"/bin/sh", "-c", "sleep 0.3"});
  auto lost = start_and_lose_pilot(spec);
  auto stopping = lost;
  stopping.state = jw::JobState::stopping;
  CHECK_THAT(jw::adoption_refusal(stopping, spec.workdir, "/proc").value_or(""),
             Contains("stopping"));
  auto other = lost;
  other.marker = "0-other";
  CHECK_THAT(jw::adoption_refusal(other, spec.workdir, "/proc").value_or(""),
             Contains("no record"));
  std::optional<jw::KeeperRecord> k;
  for (int i = 0; i < 500; ++i) {
    k = jw::load_keeper_record(spec.workdir);
    if (k && k->state == jw::KeeperState::closed && !jw::keeper_alive(*k, "/proc")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(k);
  REQUIRE_FALSE(jw::keeper_alive(*k, "/proc"));
  CHECK_THAT(jw::adoption_refusal(lost, spec.workdir, "/proc").value_or(""), Contains("has ended"));
  auto done = jw::finish_lost_job(spec.workdir, 1, "/proc", {});
  REQUIRE(done);
  CHECK(done->outcome == jw::Outcome::success);
  CHECK_THAT(jw::adoption_refusal(*done, spec.workdir, "/proc").value_or(""), Contains("finished"));
}

TEST_CASE("utc_epoch reads what utc_now writes and nothing else") {
  auto now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto back = jw::utc_epoch(jw::utc_now());
  REQUIRE(back);
  CHECK(std::abs(*back - now) < 1.0);
  CHECK(jw::utc_epoch("2026-12-04T21:40:36.927Z") == Approx(1796420436.927));
  CHECK_FALSE(jw::utc_epoch("2026-12-04 21:40:36"));
  CHECK_FALSE(jw::utc_epoch("2026-12-04T21:40:36.927Zjunk"));
  CHECK_FALSE(jw::utc_epoch(""));
}
