// The supervisor with real payloads, real signals and real files; limits are small so each case
// takes about a second.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "core/fs.hpp"
#include "core/zstd_file.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/procfs.hpp"
#include "jobwrapper/supervisor.hpp"
#include "processes.hpp"
#include "quick_spec.hpp"

namespace jw = pilot::jobwrapper;
using pilot::test::process_alive;
using pilot::test::read_pid_file;

namespace {

using jw::test::quick_spec;

jw::JobSpec sh(const pilot::TempDir& d, const std::string& script) {
  return quick_spec(d, {"/bin/sh", "-c", script});
}

// Runs `script` in a scratch job directory with the quick spec changed by `configure`.
jw::JobRecord run_sh(const std::string& script,
                     const std::function<void(jw::JobSpec&)>& configure) {
  pilot::TempDir d("jwsup");
  auto s = sh(d, script);
  configure(s);
  return jw::run_job(s);
}

bool cgroup_available() {
  return jw::find_own_cgroup_place("/sys/fs/cgroup", "/proc").has_value();
}

}  // namespace

TEST_CASE("a payload that exits 0 succeeds, with output, accounting and a finished job.json") {
  pilot::TempDir d("jwsup");
  auto rec = jw::run_job(
      sh(d, "echo hello; echo oops >&2; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"));
  CHECK(rec.state == jw::JobState::finished);
  CHECK(rec.outcome == jw::Outcome::success);
  CHECK(rec.exit_code == 0);
  CHECK_FALSE(rec.signal);
  CHECK_FALSE(rec.reason);
  CHECK(rec.cpu_seconds > 0);
  CHECK(rec.wall_seconds > 0);
  CHECK(pilot::read_zstd_file(d.path() / "job" / "std.out.zst") == "hello\n");
  CHECK(pilot::read_zstd_file(d.path() / "job" / "std.err.zst") == "oops\n");
  auto saved = jw::load_job_record(d.path() / "job");
  REQUIRE(saved);
  CHECK(saved->state == jw::JobState::finished);
  CHECK(saved->stdout_log.path == "std.out.zst");
  auto log = pilot::read_file(d.path() / "job" / "pilot-job.log");
  REQUIRE(log);
  CHECK_THAT(*log, Catch::Contains("\"msg\":\"payload started\"") &&
                       Catch::Contains("\"msg\":\"job finished\""));
}

TEST_CASE("a non-zero exit is a failure with its exit code") {
  pilot::TempDir d("jwsup");
  auto rec = jw::run_job(sh(d, "exit 7"));
  CHECK(rec.outcome == jw::Outcome::failed);
  CHECK(rec.exit_code == 7);
  CHECK(jw::shell_status(rec) == 7);
}

TEST_CASE("a payload killed by a signal is reported with the signal and no exit code") {
  pilot::TempDir d("jwsup");
  auto rec = jw::run_job(sh(d, "kill -SEGV $$"));
  CHECK(rec.outcome == jw::Outcome::failed);
  CHECK_FALSE(rec.exit_code);
  CHECK(rec.signal == SIGSEGV);
  CHECK(jw::shell_status(rec) == 128 + SIGSEGV);
}

TEST_CASE("a missing executable is a launch failure, recorded") {
  pilot::TempDir d("jwsup");
  auto rec = jw::run_job(quick_spec(d, {"pilot-no-such-payload"}));
  CHECK(rec.outcome == jw::Outcome::launch_failed);
  CHECK_THAT(rec.error, Catch::Contains("pilot-no-such-payload"));
  CHECK(jw::shell_status(rec) == 127);
  CHECK(jw::load_job_record(d.path() / "job")->outcome == jw::Outcome::launch_failed);
}

TEST_CASE("the payload runs in its job directory with stdin from /dev/null in its own session") {
  pilot::TempDir d("jwsup");
  auto rec = jw::run_job(sh(d, "pwd; cat; ps -o sid= -p $$; echo $$; echo $PILOT_JOB_MARKER"));
  REQUIRE(rec.outcome == jw::Outcome::success);
  auto out = pilot::read_zstd_file(d.path() / "job" / "std.out.zst");
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < out.size();) {
    auto eol = out.find('\n', pos);
    auto line = out.substr(pos, eol - pos);
    line.erase(0, line.find_first_not_of(' '));
    lines.push_back(line);
    pos = eol + 1;
  }
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == (d.path() / "job").string());  // nothing read from stdin
  CHECK(lines[1] == lines[2]);                     // session leader
  CHECK(lines[2] == std::to_string(rec.pid));
  CHECK(lines[3] == rec.marker);
}

TEST_CASE("wall-clock limit") {
  auto rec = run_sh("sleep 30", [](jw::JobSpec& s) { s.watchdog.wall_limit_s = 0.3; });
  CHECK(rec.outcome == jw::Outcome::killed);
  CHECK(rec.reason == jw::Reason::wall_clock);
  CHECK(rec.signal == SIGINT);  // the stop signal was enough
  CHECK(rec.wall_seconds < 5);
  REQUIRE(rec.checks.size() == 1);
  CHECK(rec.checks[0].reason == jw::Reason::wall_clock);
}

TEST_CASE("CPU-time limit over the whole tree") {
  // The CPU is burnt in a grandchild, not in the root.
  auto rec = run_sh("sh -c 'while :; do :; done' & wait",
                    [](jw::JobSpec& s) { s.watchdog.cpu_limit_s = 0.3; });
  CHECK(rec.reason == jw::Reason::cpu_time);
  CHECK(rec.cpu_seconds >= 0.3);
}

TEST_CASE("memory limit on the PSS of the tree, with kill and warn policies") {
  const std::string hog = "python3 -c 'import time; a = b\"x\" * (120 << 20); time.sleep(";
  auto rec = run_sh(hog + "30)'", [](jw::JobSpec& s) { s.watchdog.memory_limit_bytes = 60 << 20; });
  CHECK(rec.reason == jw::Reason::memory);
  CHECK(rec.max_pss_bytes > (60u << 20));

  auto warned = run_sh(hog + "0.6)'", [](jw::JobSpec& s) {
    s.watchdog.memory_limit_bytes = 60 << 20;
    s.watchdog.memory_policy = jw::MemoryPolicy::warn;
  });
  CHECK(warned.outcome == jw::Outcome::success);
  CHECK_FALSE(warned.reason);
  REQUIRE(warned.checks.size() == 1);
  CHECK(warned.checks[0].reason == jw::Reason::memory);
  CHECK_FALSE(warned.checks[0].kill);
}

TEST_CASE("an OOM kill in the job cgroup stops the job with its own reason") {
  if (!cgroup_available()) {
    WARN("not tested here: no writable cgroup below this process's own (see /proc/self/cgroup)");
    return;
  }
  pilot::TempDir d("jwsup");
  // The test, not the wrapper, puts a hard limit on the job cgroup (a batch system's role), then
  // lets the payload allocate past it.
  auto s = sh(d,
              "while [ ! -e go ]; do sleep 0.02; done; "
              "python3 -c 'a = b\"x\" * (100 << 20)'; sleep 30");
  s.tracking = jw::Tracking::cgroup;
  jw::Hooks hooks;
  bool limited = false;
  hooks.on_poll = [&](jw::Supervisor& sup, const jw::TreeUsage&) {
    const auto& t = sup.record().tracking;
    std::filesystem::path dir = t.substr(t.find(' ') + 1);
    if (std::filesystem::exists(d.path() / "job" / "go")) return;
    const char* file = t.starts_with("cgroup2") ? "memory.max" : "memory.limit_in_bytes";
    limited = std::filesystem::exists(dir / file);  // no memory controller: nothing to limit
    if (limited) std::ofstream(dir / file) << (32 << 20) << "\n";
    std::ofstream(d.path() / "job" / "go") << "\n";
    if (!limited) sup.request_stop("no memory controller");
  };
  auto rec = jw::run_job(s, hooks);
  if (!limited) {
    WARN("not tested here: the job cgroup has no memory controller (" << rec.tracking << ")");
    return;
  }
  CHECK(rec.reason == jw::Reason::oom_killed);
  CHECK(rec.oom_kills >= 1u);
  CHECK(rec.outcome == jw::Outcome::killed);
}

TEST_CASE("stalled payload") {
  auto rec = run_sh("sleep 30", [](jw::JobSpec& s) { s.watchdog.stalled_window_s = 0.5; });
  CHECK(rec.reason == jw::Reason::stalled);
  CHECK(jw::reason_text(*rec.reason) == "Watchdog identified this job as stalled");
}

TEST_CASE("minimum free disk in the job directory") {
  // More than any disk has; the real filling of a small file system is in exec_cli_test.cpp.
  auto rec =
      run_sh("sleep 30", [](jw::JobSpec& s) { s.watchdog.min_free_disk_bytes = ~0ull >> 1; });
  CHECK(rec.reason == jw::Reason::disk_space);
}

TEST_CASE("looping payload: no file in the job directory modified") {
  auto looping = [](jw::JobSpec& s) { s.watchdog.looping_s = 0.5; };
  // Output to stdout does not count: only files the payload writes.
  CHECK(run_sh("while :; do echo still here; sleep 0.05; done", looping).reason ==
        jw::Reason::looping);
  CHECK(run_sh("i=0; while [ $i -lt 15 ]; do date > progress; sleep 0.1; i=$((i+1)); done", looping)
            .outcome == jw::Outcome::success);
}

TEST_CASE("a payload that stops on the stop signal ends the job gracefully, signalled once") {
  pilot::TempDir d("jwsup");
  auto s = sh(d, "trap 'echo stopping; exit 130' INT; while :; do sleep 0.05; done");
  pilot::process::asio::io_context ctx;
  jw::Supervisor sup(ctx, s, {}, {});
  sup.start();
  std::thread other([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sup.request_stop("slot reclaimed");
    sup.request_stop("again");  // ignored: the stop signal goes out once
  });
  ctx.run();
  other.join();
  const auto& rec = sup.record();
  CHECK(rec.outcome == jw::Outcome::stopped);
  CHECK(rec.exit_code == 130);
  CHECK(rec.reason == jw::Reason::stop_requested);
  CHECK(rec.reason_detail == "slot reclaimed");
  REQUIRE(rec.signals_sent.size() == 1);
  CHECK(rec.signals_sent[0].signal == "SIGINT");
  CHECK(rec.signals_sent[0].target == "group");
  CHECK(pilot::read_zstd_file(d.path() / "job" / "std.out.zst") == "stopping\n");
}

TEST_CASE("a stop requested before the keeper said the payload runs is applied once it runs") {
  pilot::TempDir d("jwsup");
  auto s = sh(d, "while :; do sleep 0.05; done");
  pilot::process::asio::io_context ctx;
  bool started_first = false;
  jw::Hooks hooks;
  jw::Supervisor* seen = nullptr;
  hooks.on_started = [&](jw::Supervisor& sup) {
    seen = &sup;
    started_first = sup.record().signals_sent.empty() && sup.pid() > 1;
  };
  jw::Supervisor sup(ctx, s, std::move(hooks), {});
  sup.start();
  CHECK(sup.pid() == 0);  // the keeper's answer comes on the io_context
  sup.request_stop("before it ran");
  ctx.run();
  CHECK(seen == &sup);
  CHECK(started_first);
  const auto& rec = sup.record();
  CHECK(rec.outcome == jw::Outcome::stopped);
  CHECK(rec.reason == jw::Reason::stop_requested);
  CHECK(rec.reason_detail == "before it ran");
  REQUIRE_FALSE(rec.signals_sent.empty());
  CHECK(rec.signals_sent[0].signal == "SIGINT");
  CHECK(rec.signals_sent[0].target == "group");
}

TEST_CASE("a launcher that dies of the stop signal leaves its child the grace to finish its stop") {
  // As dirac-jobexec does: it dies of SIGUSR1 at once, its step (same process group) takes a
  // moment to finish its event and write its summary.
  pilot::TempDir d("jwsup");
  auto s = sh(d,
              "sh -c 'trap \"sleep 0.5; echo finalised > step-summary; exit 138\" USR1;"
              " echo $$ > step.pid; while :; do sleep 0.05; done' & "
              "while [ ! -s step.pid ]; do sleep 0.01; done; echo started; "
              "while :; do sleep 0.05; done");
  s.stop_signal = SIGUSR1;
  s.grace_s = 10;
  pilot::process::asio::io_context ctx;
  jw::Supervisor sup(ctx, s, {}, {});
  sup.start();
  std::thread other([&] {
    for (int i = 0; i < 500 && !std::filesystem::exists(d.path() / "job" / "step.pid"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sup.request_stop("slot reclaimed");
  });
  auto t0 = std::chrono::steady_clock::now();
  ctx.run();
  other.join();
  const auto& rec = sup.record();
  CHECK(rec.signal == SIGUSR1);  // the launcher's own end
  CHECK(rec.outcome == jw::Outcome::stopped);
  CHECK(pilot::read_file(d.path() / "job" / "step-summary") == "finalised\n");
  REQUIRE(rec.signals_sent.size() == 1);  // no SIGTERM cut the step's finalisation short
  CHECK(rec.signals_sent[0].signal == "SIGUSR1");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
}

TEST_CASE("a payload that ignores the stop signal and SIGTERM is escalated to SIGKILL") {
  pilot::TempDir d("jwsup");
  auto s =
      sh(d, "trap '' INT TERM; echo $$ > root.pid; sleep 30 & echo $! > child.pid; wait; wait");
  s.grace_s = 0.3;
  s.term_grace_s = 0.3;
  s.watchdog.wall_limit_s = 0.2;
  std::set<jw::JobState> states;  // as a pilot reading job.json meanwhile would see them
  jw::Hooks hooks;
  hooks.on_poll = [&](jw::Supervisor&, const jw::TreeUsage&) {
    states.insert(jw::load_job_record(d.path() / "job")->state);
  };
  auto rec = jw::run_job(s, hooks);
  CHECK(states == std::set<jw::JobState>{jw::JobState::running, jw::JobState::stopping});
  CHECK(rec.reason == jw::Reason::wall_clock);
  CHECK(rec.signal == SIGKILL);
  REQUIRE(rec.signals_sent.size() == 3);
  CHECK(rec.signals_sent[0].signal == "SIGINT");
  CHECK(rec.signals_sent[1].signal == "SIGTERM");
  CHECK(rec.signals_sent[2].signal == "SIGKILL");
  CHECK(rec.signals_sent[2].processes == 2);
  CHECK_FALSE(process_alive(read_pid_file(d.path() / "job" / "child.pid")));
}

TEST_CASE("a double-forked, setsid child is gone after the job (/proc marker tracking)") {
  pilot::TempDir d("jwsup");
  auto s = sh(d, "setsid sh -c 'echo $$ > child.pid; exec sleep 300' & sleep 0.2; exit 0");
  s.tracking = jw::Tracking::proc;
  auto rec = jw::run_job(s);
  CHECK(rec.outcome == jw::Outcome::success);
  CHECK(rec.tracking == "proc");
  pid_t child = read_pid_file(d.path() / "job" / "child.pid");
  CHECK_FALSE(process_alive(child));
  REQUIRE_FALSE(rec.signals_sent.empty());
  CHECK(rec.signals_sent[0].signal == "SIGTERM");
}

TEST_CASE(
    "a double-forked child that clears its environment is gone after the job (cgroup tracking)") {
  if (!cgroup_available()) {
    WARN("not tested here: no writable cgroup below this process's own (see /proc/self/cgroup)");
    return;
  }
  pilot::TempDir d("jwsup");
  // env -i drops the marker: only the cgroup can still find this one.
  auto s =
      sh(d, "setsid env -i /bin/sh -c 'echo $$ > child.pid; exec sleep 300' & sleep 0.2; exit 0");
  s.tracking = jw::Tracking::cgroup;
  auto rec = jw::run_job(s);
  CHECK(rec.outcome == jw::Outcome::success);
  CHECK_THAT(rec.tracking, Catch::StartsWith("cgroup"));
  CHECK_FALSE(process_alive(read_pid_file(d.path() / "job" / "child.pid")));
  CHECK_FALSE(std::filesystem::exists(rec.tracking.substr(rec.tracking.find(' ') + 1)));
}

TEST_CASE("huge output: the cap is honoured, head and tail are kept") {
  pilot::TempDir d("jwsup");
  auto s = sh(d, "echo FIRST-LINE; yes 0123456789 | head -c 20000000; echo; echo LAST-LINE");
  s.log_cap_bytes = 200000;
  auto rec = jw::run_job(s);
  CHECK(rec.outcome == jw::Outcome::success);
  CHECK(rec.stdout_log.bytes > 20000000);
  CHECK(rec.stdout_log.dropped_bytes == rec.stdout_log.bytes - 200000);
  auto kept = pilot::read_zstd_file(d.path() / "job" / "std.out.zst");
  CHECK(kept.size() < 200200);
  CHECK_THAT(kept, Catch::StartsWith("FIRST-LINE\n"));
  CHECK_THAT(kept, Catch::EndsWith("\nLAST-LINE\n"));
  CHECK_THAT(kept, Catch::Contains("bytes of output dropped here"));
}

TEST_CASE("job.json says running while the payload runs, and hooks and heartbeats see the job") {
  pilot::TempDir d("jwsup");
  auto s = sh(d, "echo progress 1; sleep 0.6; echo progress 2");
  s.heartbeat_s = 0.2;
  std::vector<jw::JobState> states;
  std::vector<nlohmann::ordered_json> beats;
  jw::Hooks hooks;
  hooks.on_poll = [&](jw::Supervisor& sup, const jw::TreeUsage&) {
    states.push_back(jw::load_job_record(d.path() / "job")->state);
    sup.record().extra["polls"] = states.size();
    sup.save_record();
  };
  hooks.on_heartbeat = [&](const jw::Heartbeat& h) { beats.push_back(jw::to_json(h)); };
  bool finished_called = false;
  hooks.on_finished = [&](const jw::JobRecord& r) {
    finished_called = r.state == jw::JobState::finished;
  };
  auto rec = jw::run_job(s, hooks);
  CHECK(finished_called);
  REQUIRE_FALSE(states.empty());
  CHECK(states.front() == jw::JobState::running);
  CHECK(rec.extra["polls"].get<std::size_t>() >= 1);
  CHECK(jw::load_job_record(d.path() / "job")->extra["polls"] == rec.extra["polls"]);
  REQUIRE_FALSE(beats.empty());
  CHECK(beats.front()["StandardOutput"] == "progress 1\n");
  CHECK(beats.front().contains("LoadAverage"));
  CHECK(beats.front()["AvailableDiskSpace"].get<double>() > 0);
}

TEST_CASE(
    "heartbeats measure as DIRAC's Watchdog: tree RSS and Vsize in MB, wall time x processors") {
  pilot::TempDir d("jwsup");
  // A child holding 64 MiB resident, so the tree's memory is that of the child, not of sh. It
  // says when it holds the memory and keeps it until the test has a heartbeat measured after
  // that, so a loaded machine cannot make the heartbeat see the tree before the allocation.
  auto s =
      sh(d,
         "python3 -c 'import os, time\n"
         "b = bytearray(64 << 20)\n"
         "open(\"held\", \"w\").close()\n"
         "end = time.time() + 60\n"
         "while not os.path.exists(\"release\") and time.time() < end: time.sleep(0.05)' & wait");
  s.heartbeat_s = 0.5;
  s.processors = 4;
  const auto job_dir = d.path() / "job";
  std::vector<jw::Heartbeat> beats;
  bool held_seen = false;
  jw::Hooks hooks;
  hooks.on_heartbeat = [&](const jw::Heartbeat& h) {
    if (held_seen && beats.empty()) {
      beats.push_back(h);
      pilot::write_file_atomic(job_dir / "release", "");
    } else if (std::filesystem::exists(job_dir / "held")) {
      held_seen = true;
    }
  };
  auto rec = jw::run_job(s, hooks);
  REQUIRE(rec.exit_code == 0);
  REQUIRE(beats.size() == 1);
  const auto& last = beats.back();
  CHECK(last.memory_used_mb > 64);  // MB, not kB
  CHECK(last.memory_used_mb < 1024);
  CHECK(last.vsize_mb >= last.memory_used_mb);
  CHECK(last.vsize_mb < 64 * 1024);
  // Taken at least 1 s into the job: 4 processors make at least 4 s of wall time.
  CHECK(last.wall_clock_s >= 3.6);
  CHECK(last.wall_clock_s <= rec.wall_seconds * 4 + 0.1);
}

TEST_CASE("destroying the supervisor with the job running kills the whole tree and records it") {
  pilot::TempDir d("jwsup");
  pid_t child = 0;
  {
    pilot::process::asio::io_context ctx;
    jw::Supervisor sup(ctx, sh(d, "sleep 300 & echo $! > child.pid; wait"), {}, {});
    sup.start();
    child = read_pid_file(d.path() / "job" / "child.pid");
    CHECK(process_alive(child));
  }
  CHECK_FALSE(process_alive(child));
  auto rec = jw::load_job_record(d.path() / "job");
  REQUIRE(rec);
  CHECK(rec->state == jw::JobState::finished);
  CHECK(rec->outcome == jw::Outcome::killed);
}
