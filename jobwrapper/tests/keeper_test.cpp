// The payload keeper: its argument format, control lines and record, and the keeper process as
// the supervisor runs it (this test binary is its own keeper, tests/keeper_test_main.cpp).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobwrapper/keeper.hpp"
#include "jobwrapper/procfs.hpp"
#include "jobwrapper/supervisor.hpp"
#include "quick_spec.hpp"

namespace jw = pilot::jobwrapper;
using Catch::Matchers::Contains;

using jw::test::quick_spec;

TEST_CASE("keeper arguments: what the supervisor writes the keeper reads back") {
  jw::KeeperRequest r;
  r.workdir = "/scratch/job_7";
  r.marker = "123-abc";
  r.tracking = "cgroup2 /sys/fs/cgroup/x/pilot-job-123-abc";
  r.stdout_name = "out.log";
  r.stderr_name = "err.log";
  r.log_cap_bytes = 1 << 20;
  r.peek_lines = 5;
  r.compress_logs = false;
  r.exe = "/bin/echo";
  r.args = {"--", "-x", "a b"};  // the payload's own options are not the keeper's
  auto a = jw::keeper_arguments(r);
  REQUIRE(a.front() == "keep");
  auto back = jw::parse_keeper_arguments({a.begin() + 1, a.end()});
  CHECK(back.workdir == r.workdir);
  CHECK(back.marker == r.marker);
  CHECK(back.tracking == r.tracking);
  CHECK(back.stdout_name == r.stdout_name);
  CHECK(back.stderr_name == r.stderr_name);
  CHECK(back.log_cap_bytes == r.log_cap_bytes);
  CHECK(back.peek_lines == 5);
  CHECK_FALSE(back.compress_logs);
  CHECK(back.exe == r.exe);
  CHECK(back.args == r.args);
}

TEST_CASE("keeper arguments: a bad one is named") {
  using V = std::vector<std::string>;
  CHECK_THROWS_WITH(jw::parse_keeper_arguments(V{"--bogus", "1", "--", "/bin/true"}),
                    Contains("'--bogus'"));
  CHECK_THROWS_WITH(jw::parse_keeper_arguments(V{"--workdir", "/w", "--marker", "m", "--peek-lines",
                                                 "x", "--", "/bin/true"}),
                    Contains("--peek-lines 'x'"));
  CHECK_THROWS_WITH(jw::parse_keeper_arguments(V{"--workdir", "/w", "--marker", "m"}),
                    Contains("no payload"));
  CHECK_THROWS_WITH(jw::parse_keeper_arguments(V{"--workdir", "/w", "--", "/bin/true"}),
                    Contains("--marker"));
}

TEST_CASE("keeper control lines") {
  auto started = jw::parse_keeper_message("started 4242");
  REQUIRE(started);
  CHECK(started->kind == jw::KeeperMessage::Kind::started);
  CHECK(started->pid == 4242);
  auto failed = jw::parse_keeper_message("failed cannot execute it: /x: Exec format error");
  REQUIRE(failed);
  CHECK(failed->why == "cannot execute it: /x: Exec format error");
  CHECK(jw::parse_keeper_message("ended")->kind == jw::KeeperMessage::Kind::ended);
  CHECK(jw::parse_keeper_message("closed")->kind == jw::KeeperMessage::Kind::closed);
  CHECK_FALSE(jw::parse_keeper_message("started 1"));  // never init
  CHECK_FALSE(jw::parse_keeper_message("started x"));
  CHECK_FALSE(jw::parse_keeper_message("ended now"));
  CHECK_FALSE(jw::parse_keeper_message(""));
}

TEST_CASE("keeper record: saved and read back, a damaged one named") {
  pilot::TempDir d("jwkeep");
  jw::KeeperRecord k;
  k.state = jw::KeeperState::closed;
  k.keeper_pid = 10;
  k.payload_pid = 11;
  k.marker = "10-ff";
  k.started_at = "2026-12-04T10:00:00.000Z";
  k.ended_at = "2026-12-04T10:00:01.000Z";
  k.exit_code = 3;
  k.cpu_user_seconds = 1.5;
  k.max_rss_bytes = 4096;
  k.stdout_log = {"std.out.zst", 12, 0};
  jw::save_keeper_record(d.path(), k);
  auto back = jw::load_keeper_record(d.path());
  REQUIRE(back);
  CHECK(back->state == jw::KeeperState::closed);
  CHECK(back->payload_pid == 11);
  CHECK(back->exit_code == 3);
  CHECK_FALSE(back->signal);
  CHECK(back->cpu_user_seconds == 1.5);
  CHECK(back->stdout_log.path == "std.out.zst");
  CHECK(back->stdout_log.bytes == 12);

  CHECK_FALSE(jw::load_keeper_record(d.path() / "none"));
  pilot::write_file_atomic(d.path() / jw::kKeeperRecordName, R"({"state": "dozing"})");
  CHECK_THROWS_WITH(jw::load_keeper_record(d.path()),
                    Contains(jw::kKeeperRecordName) && Contains("'dozing'"));
}

TEST_CASE("keeper_alive: only a keeper process for that marker") {
  jw::KeeperRecord k;
  k.keeper_pid = ::getpid();  // alive, but not a keeper
  k.marker = "x";
  CHECK_FALSE(jw::keeper_alive(k, "/proc"));
  k.keeper_pid = 0;
  CHECK_FALSE(jw::keeper_alive(k, "/proc"));
}

TEST_CASE("the keeper is the payload's parent, outside its tree, and records its end") {
  pilot::TempDir d("jwkeep");
  pid_t keeper = 0;
  bool parent = false, alive = false, outside = false;
  jw::Hooks hooks;
  hooks.on_poll = [&](jw::Supervisor& s, const jw::TreeUsage& u) {
    if (keeper) return;
    keeper = s.record().keeper_pid;
    auto st = jw::read_proc_stat("/proc", s.pid());
    parent = st && st->ppid == keeper;
    auto k = jw::load_keeper_record(s.record().workdir);
    alive = k && jw::keeper_alive(*k, "/proc");
    outside = u.processes == 1;  // the payload alone
  };
  auto rec = jw::run_job(quick_spec(d, {"/bin/sleep", "0.5"}), hooks);
  CHECK(rec.outcome == jw::Outcome::success);
  CHECK(keeper > 0);
  CHECK(keeper == rec.keeper_pid);
  CHECK(parent);
  CHECK(alive);
  CHECK(outside);
  auto k = jw::load_keeper_record(d.path() / "job");
  REQUIRE(k);
  CHECK(k->state == jw::KeeperState::closed);
  CHECK(k->payload_pid == rec.pid);
  CHECK(k->exit_code == 0);
  CHECK_FALSE(jw::keeper_alive(*k, "/proc"));
}

TEST_CASE("the keeper relays a stop request to the payload's group") {
  pilot::TempDir d("jwkeep");
  bool sent = false;
  jw::Hooks hooks;
  hooks.on_poll = [&](jw::Supervisor& s, const jw::TreeUsage&) {
    if (sent || !pilot::read_file(d.path() / "job" / "ready")) return;
    sent = ::kill(s.record().keeper_pid, SIGUSR1) == 0;
  };
  auto rec = jw::run_job(
      quick_spec(
          d, {"/bin/sh", "-c", "trap 'exit 9' USR1; touch ready; while :; do sleep 0.05; done"}),
      hooks);
  CHECK(sent);
  CHECK(rec.exit_code == 9);
  CHECK(rec.outcome == jw::Outcome::failed);  // not a stop the supervisor asked for
  CHECK_THAT(pilot::read_file(d.path() / "job" / jw::kKeeperLogName).value_or(""),
             Contains("relayed signal " + std::to_string(SIGUSR1)));
}

TEST_CASE("a payload that cannot be executed: the keeper says why, the job is launch_failed") {
  pilot::TempDir d("jwkeep");
  auto bad = d.path() / "garbage";
  pilot::write_file_atomic(bad, std::string("\x7f"
                                            "ELF\x01\x02",
                                            6));
  ::chmod(bad.c_str(), 0755);
  auto rec = jw::run_job(quick_spec(d, {bad.string()}));
  CHECK(rec.outcome == jw::Outcome::launch_failed);
  CHECK_THAT(rec.error, Contains("cannot execute it") && Contains(bad.string()));
  CHECK(rec.keeper_pid == 0);
}
