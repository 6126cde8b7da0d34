// Pure pieces of the job wrapper, fed with fixture text and files.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobwrapper/environment.hpp"
#include "jobwrapper/heartbeat.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/keeper.hpp"
#include "jobwrapper/lost_job.hpp"
#include "jobwrapper/procfs.hpp"
#include "jobwrapper/watchdog.hpp"
#include "jobwrapper/workdir_probe.hpp"

namespace jw = pilot::jobwrapper;

namespace {
void write(const std::filesystem::path& p, const std::string& s) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << s;
}
}  // namespace

TEST_CASE("parse_proc_stat copes with spaces and parentheses in the command name") {
  auto st = jw::parse_proc_stat(
      "4242 (my (odd) cmd) S 4000 4242 4242 0 -1 4194560 500 0 0 0 150 25 7 3 20 0 1 0 "
      "123456 10485760 256 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n");
  CHECK(st.pid == 4242);
  CHECK(st.state == 'S');
  CHECK(st.ppid == 4000);
  CHECK(st.pgid == 4242);
  CHECK(st.sid == 4242);
  CHECK(st.utime == 150);
  CHECK(st.stime == 25);
  CHECK(st.cutime == 7);
  CHECK(st.cstime == 3);
  CHECK(st.starttime == 123456);
  CHECK(st.vsize == 10485760);
  CHECK(st.rss_pages == 256);
  CHECK_FALSE(st.gone());
  CHECK(jw::parse_proc_stat("1 (z) Z 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0").gone());
}

TEST_CASE("parse_proc_stat rejects truncated or garbled text with the text in the message") {
  CHECK_THROWS_WITH(jw::parse_proc_stat("12 (sh) S 1 2"), Catch::Contains("too few fields"));
  CHECK_THROWS_WITH(jw::parse_proc_stat("garbage"), Catch::Contains("garbage"));
  CHECK_THROWS_AS(jw::parse_proc_stat("x (a) S a b c d e f g h i j k l m n o p q r s t u v"),
                  pilot::Error);
}

TEST_CASE("procfs readers work on a fixture root and treat vanished processes as absent") {
  pilot::TempDir root("jwproc");
  write(root.path() / "77" / "stat",
        "77 (a) R 1 77 77 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 900 4096 3\n");
  write(root.path() / "77" / "smaps_rollup",
        "00400000-7ffd [rollup]\nRss:                1000 kB\nPss:                 612 "
        "kB\nPss_Anon: 500 kB\n");
  std::string env = std::string("A=1") + '\0' + "PILOT_JOB_MARKER=m1" + '\0';
  write(root.path() / "77" / "environ", env);
  write(root.path() / "self" / "x", "");
  write(root.path() / "loadavg", "0.52 0.40 0.30 1/123 4567\n");
  CHECK(jw::list_pids(root.path()) == std::vector<pid_t>{77});
  REQUIRE(jw::read_proc_stat(root.path(), 77));
  CHECK(jw::read_proc_stat(root.path(), 77)->starttime == 900);
  CHECK_FALSE(jw::read_proc_stat(root.path(), 78));
  CHECK(jw::read_pss_bytes(root.path(), 77) == 612u * 1024);
  CHECK(jw::environ_contains(root.path(), 77, "PILOT_JOB_MARKER=m1"));
  CHECK_FALSE(jw::environ_contains(root.path(), 77, "PILOT_JOB_MARKER=m"));
  CHECK_FALSE(jw::environ_contains(root.path(), 78, "A=1"));
  CHECK(jw::read_load_average(root.path()) == Approx(0.52));
  CHECK_FALSE(jw::parse_smaps_rollup_pss("Rss: 5 kB\n"));
}

TEST_CASE("the payload's group leader is found by its marker, never a member or a zombie") {
  pilot::TempDir root("jwproc");
  auto proc = [&](int pid, int pgid, char state, const std::string& marker) {
    write(root.path() / std::to_string(pid) / "stat",
          std::to_string(pid) + " (sh) " + state + " 1 " + std::to_string(pgid) + " " +
              std::to_string(pgid) + " 0 -1 0 0 0 0 0 10 5 0 0 20 0 1 0 900 4096 3\n");
    write(root.path() / std::to_string(pid) / "environ",
          std::string("A=1") + '\0' + "PILOT_JOB_MARKER=" + marker + '\0');
  };
  proc(40, 40, 'S', "other");  // another job's leader
  proc(41, 50, 'S', "m1");     // a member of the job's group
  proc(45, 45, 'Z', "m1");     // a leader already gone
  CHECK_FALSE(jw::find_group_leader_with_environ(root.path(), "PILOT_JOB_MARKER=m1"));
  proc(50, 50, 'S', "m1");
  CHECK(jw::find_group_leader_with_environ(root.path(), "PILOT_JOB_MARKER=m1") == 50);
}

TEST_CASE(
    "the payload environment: an explicitly set X509_USER_PROXY (the owner's) replaces the "
    "pilot's") {
  std::vector<std::string> parent{"PATH=/bin", "X509_USER_PROXY=/tmp/x509up_u0",
                                  "BEARER_TOKEN=abc"};
  jw::EnvPolicy p;
  p.set = {{"X509_USER_PROXY", "/work/.pilot-state/payload-proxies/x509up_job_7"}};
  auto env = jw::build_environment(parent, p, "m");
  CHECK(env == std::vector<std::string>{
                   "PATH=/bin", "X509_USER_PROXY=/work/.pilot-state/payload-proxies/x509up_job_7",
                   "PILOT_JOB_MARKER=m"});
}

TEST_CASE(
    "the payload environment drops the pilot's credentials unless asked, and carries the marker") {
  std::vector<std::string> parent{"PATH=/bin",
                                  "X509_USER_PROXY=/tmp/x509up_u0",
                                  "BEARER_TOKEN=abc",
                                  "BEARER_TOKEN_FILE=/t",
                                  "X509_USER_CERT=/c",
                                  "X509_USER_KEY=/k",
                                  "HOME=/root",
                                  "DROP=1",
                                  "PILOT_JOB_MARKER=outer",
                                  "junk"};
  jw::EnvPolicy p;
  p.unset = {"DROP"};
  p.set = {{"HOME", "/job"}, {"NEW", "v"}};
  auto env = jw::build_environment(parent, p, "inner");
  CHECK(env ==
        std::vector<std::string>{"PATH=/bin", "HOME=/job", "NEW=v", "PILOT_JOB_MARKER=inner"});
  p.pass_credentials = true;
  env = jw::build_environment(parent, p, "m");
  CHECK(std::count(env.begin(), env.end(), "X509_USER_PROXY=/tmp/x509up_u0") == 1);
  CHECK(std::count(env.begin(), env.end(), "BEARER_TOKEN=abc") == 1);
  p.inherit = false;
  CHECK(jw::build_environment(parent, p, "m") ==
        std::vector<std::string>{"HOME=/job", "NEW=v", "PILOT_JOB_MARKER=m"});
  p.set = {{"BAD=KEY", "x"}};
  CHECK_THROWS_WITH(jw::build_environment(parent, p, "m"), Catch::Contains("BAD=KEY"));
  CHECK(jw::make_marker() != jw::make_marker());
}

TEST_CASE("each watchdog check fires with its own reason and DIRAC's text") {
  jw::WatchdogConfig c;
  c.stalled_window_s = 0;
  c.min_free_disk_bytes = 0;
  auto one = [](jw::WatchdogConfig cfg, jw::Sample s) {
    jw::Watchdog w(cfg);
    auto f = w.check(s);
    REQUIRE(f.size() == 1);
    return f[0];
  };
  {
    auto cfg = c;
    cfg.wall_limit_s = 10;
    jw::Sample s;
    s.wall_s = 11;
    auto f = one(cfg, s);
    CHECK(f.reason == jw::Reason::wall_clock);
    CHECK(jw::reason_text(f.reason) == "Job has exceeded maximum wall clock time");
  }
  {
    auto cfg = c;
    cfg.cpu_limit_s = 5;
    jw::Sample s;
    s.cpu_s = 6;
    CHECK(one(cfg, s).reason == jw::Reason::cpu_time);
    CHECK(jw::reason_text(jw::Reason::cpu_time) == "Job has reached the CPU limit of the queue");
  }
  {
    auto cfg = c;
    cfg.memory_limit_bytes = 100 << 20;
    jw::Sample s;
    s.pss_bytes = 50 << 20;
    s.cgroup_memory_bytes = 150u << 20;
    auto f = one(cfg, s);
    CHECK(f.reason == jw::Reason::memory);
    CHECK(f.kill);
    CHECK_THAT(f.detail, Catch::Contains("cgroup memory"));
  }
  {
    auto cfg = c;
    cfg.memory_limit_bytes = 100 << 20;
    cfg.memory_policy = jw::MemoryPolicy::warn;
    jw::Watchdog w(cfg);
    jw::Sample s;
    s.pss_bytes = 200u << 20;
    auto f = w.check(s);
    REQUIRE(f.size() == 1);
    CHECK_FALSE(f[0].kill);
    CHECK(w.check(s).empty());  // a warning is news once
  }
  {
    jw::Sample s;
    s.oom_kills = 1;
    CHECK(one(c, s).reason == jw::Reason::oom_killed);
  }
  {
    auto cfg = c;
    cfg.min_free_disk_bytes = 10 << 20;
    jw::Sample s;
    s.free_disk_bytes = 1 << 20;
    CHECK(one(cfg, s).reason == jw::Reason::disk_space);
    CHECK(jw::reason_text(jw::Reason::disk_space) == "Job has insufficient disk space to continue");
  }
  {
    auto cfg = c;
    cfg.looping_s = 60;
    jw::Sample s;
    s.files_idle_s = 61;
    CHECK(one(cfg, s).reason == jw::Reason::looping);
  }
  CHECK(jw::reason_text(jw::Reason::stalled) == "Watchdog identified this job as stalled");
  for (auto r : {jw::Reason::wall_clock, jw::Reason::cpu_time, jw::Reason::memory,
                 jw::Reason::oom_killed, jw::Reason::stalled, jw::Reason::disk_space,
                 jw::Reason::looping, jw::Reason::stop_requested})
    CHECK(jw::parse_reason(jw::reason_code(r)) == r);
}

TEST_CASE("the stalled check compares CPU and wall time over its window only") {
  jw::WatchdogConfig c;
  c.min_free_disk_bytes = 0;
  c.stalled_window_s = 100;
  jw::Watchdog w(c);
  auto at = [](double wall, double cpu) {
    jw::Sample s;
    s.wall_s = wall;
    s.cpu_s = cpu;
    return s;
  };
  // Busy for the first 100 s, then idle: stalled only once the window holds idle time alone.
  CHECK(w.check(at(0, 0)).empty());
  CHECK(w.check(at(50, 50)).empty());
  CHECK(w.check(at(100, 100)).empty());
  CHECK(w.check(at(150, 101)).empty());  // window 50..150: 51 s CPU in 100 s
  auto f = w.check(at(210, 101.5));      // window 100..210 (reference at 100): 1.5 / 110
  REQUIRE(f.size() == 1);
  CHECK(f[0].reason == jw::Reason::stalled);
}

TEST_CASE("heartbeats carry DIRAC's keys in the Watchdog's units") {
  jw::Heartbeat h;
  h.cpu_consumed_s = 12.745;
  h.wall_clock_s = 60;
  h.memory_used_mb = 20.004;
  h.vsize_mb = 40.5;
  h.load_average = 0.5;
  h.available_disk_mb = 1000;
  h.standard_output = "line\n";
  auto j = jw::to_json(h);
  for (auto k : {"CPUConsumed", "WallClockTime", "MemoryUsed", "Vsize", "LoadAverage",
                 "AvailableDiskSpace", "StandardOutput"})
    CHECK(j.contains(k));
  CHECK(j["CPUConsumed"] == Approx(12));  // whole seconds, as through DIRAC's h:m:s
  CHECK(j["MemoryUsed"] == Approx(20.0));
  CHECK(j["Vsize"] == Approx(40.5));
  CHECK(j["StandardOutput"] == "line\n");
}

TEST_CASE("job states and outcomes have one word each in job.json, and other words are refused") {
  using jw::JobState, jw::Outcome;
  for (auto s : {JobState::prepared, JobState::running, JobState::stopping, JobState::finished})
    CHECK(jw::job_state_from_string(jw::to_string(s)) == s);
  for (auto o : {Outcome::none, Outcome::success, Outcome::failed, Outcome::killed,
                 Outcome::stopped, Outcome::launch_failed, Outcome::lost, Outcome::not_started})
    CHECK(jw::outcome_from_string(jw::to_string(o)) == o);
  CHECK(jw::to_string(Outcome::none).empty());
  CHECK(jw::to_string(Outcome::launch_failed) == "launch_failed");
  CHECK_THROWS_WITH(jw::job_state_from_string("done"), Catch::Contains("unknown state 'done'"));
  CHECK_THROWS_WITH(jw::outcome_from_string("ok"), Catch::Contains("unknown outcome 'ok'"));
}

TEST_CASE("a job record survives a round trip through job.json") {
  pilot::TempDir d("jwrec");
  jw::JobRecord r;
  r.job_id = "42";
  r.state = jw::JobState::finished;
  r.outcome = jw::Outcome::killed;
  r.argv = {"a", "b c"};
  r.workdir = d.path().string();
  r.signal = 9;
  r.reason = jw::Reason::stalled;
  r.reason_detail = "CPU/wall 0.1 %";
  r.checks.push_back({"2026-01-01T00:00:00.000Z", jw::Reason::stalled, "x", true});
  r.signals_sent.push_back({"t", "SIGINT", "group", 1});
  r.max_pss_bytes = 123;
  r.cgroup_max_memory_bytes = 456;
  r.stdout_log = {"std.out.zst", 10, 2};
  r.extra["events"] = 17;
  jw::save_job_record(d.path(), r);
  auto back = jw::load_job_record(d.path());
  REQUIRE(back);
  CHECK(jw::to_json(*back) == jw::to_json(r));
  CHECK(jw::shell_status(*back) == 137);
  CHECK_FALSE(jw::load_job_record(d.path() / "none"));
}

TEST_CASE("a damaged job.json is an error naming the file and the field") {
  pilot::TempDir d("jwrec");
  pilot::write_file_atomic(d.path() / "job.json", "{\"state\": \"running\", \"exit_code\": \"x\"");
  CHECK_THROWS_WITH(jw::load_job_record(d.path()),
                    Catch::Contains("job.json") && Catch::Contains("not valid JSON"));
  pilot::write_file_atomic(d.path() / "job.json", "{\"state\": \"running\", \"exit_code\": \"x\"}");
  CHECK_THROWS_WITH(jw::load_job_record(d.path()), Catch::Contains("exit_code"));
  pilot::write_file_atomic(d.path() / "job.json",
                           "{\"state\": \"running\", \"reason\": \"bogus\"}");
  CHECK_THROWS_WITH(jw::load_job_record(d.path()), Catch::Contains("bogus"));
  pilot::write_file_atomic(d.path() / "job.json", "[1,2]");
  CHECK_THROWS_WITH(jw::load_job_record(d.path()), Catch::Contains("not a JSON object"));
}

TEST_CASE(
    "the job directory probe sees free space and the newest file, ignoring the wrapper's own") {
  pilot::TempDir d("jwdir");
  CHECK(jw::free_disk_bytes(d.path()).value_or(0) > 0);
  CHECK_FALSE(jw::newest_file_mtime(d.path(), {}));
  write(d.path() / "job.json", "{}");
  CHECK_FALSE(jw::newest_file_mtime(d.path(), {"job.json"}));
  write(d.path() / "sub" / "out.root", "x");
  auto t = jw::newest_file_mtime(d.path(), {"job.json"});
  REQUIRE(t);
  CHECK(*t > 1.7e9);
}

TEST_CASE("a lost pilot's job that never started is finished so, its disk reserve released") {
  pilot::TempDir d("jwlost");
  pilot::jobwrapper::JobRecord rec;
  rec.job_id = "7";
  rec.workdir = d.path().string();
  rec.marker = "1-00";
  rec.state = pilot::jobwrapper::JobState::prepared;  // died before the payload started
  pilot::jobwrapper::save_job_record(d.path(), rec);
  pilot::write_file_atomic(d.path() / pilot::jobwrapper::kReserveName, std::string(4096, '\0'));
  auto proc = d.path() / "proc";  // no process left
  std::filesystem::create_directories(proc);
  auto done = pilot::jobwrapper::finish_lost_job(d.path(), 0.1, proc, {});
  REQUIRE(done);
  CHECK(done->state == pilot::jobwrapper::JobState::finished);
  CHECK(done->outcome == pilot::jobwrapper::Outcome::not_started);  // never recorded nor found
  CHECK_FALSE(pilot::jobwrapper::payload_found_by_marker(*done));
  CHECK_FALSE(std::filesystem::exists(d.path() / pilot::jobwrapper::kReserveName));
  CHECK(pilot::jobwrapper::load_job_record(d.path())->state ==
        pilot::jobwrapper::JobState::finished);
  CHECK_FALSE(pilot::jobwrapper::finish_lost_job(d.path(), 0.1, proc, {}));
}

namespace {

// A lost pilot's running job whose payload is gone, and what its keeper recorded of its end.
pilot::jobwrapper::JobRecord lost_running_job(const std::filesystem::path& dir,
                                              std::optional<int> exit_code,
                                              std::optional<int> signal) {
  namespace jw = pilot::jobwrapper;
  jw::JobRecord rec;
  rec.job_id = "8";
  rec.workdir = dir.string();
  rec.marker = "1-01";
  rec.state = jw::JobState::running;
  rec.pid = 999999;  // gone
  jw::save_job_record(dir, rec);
  jw::KeeperRecord k;
  k.state = jw::KeeperState::closed;
  k.keeper_pid = 999998;  // gone too
  k.payload_pid = rec.pid;
  k.marker = rec.marker;
  k.exit_code = exit_code;
  k.signal = signal;
  k.cpu_user_seconds = 2.5;
  k.stdout_log = {"std.out.zst", 42, 0};
  jw::save_keeper_record(dir, k);
  return rec;
}

}  // namespace

TEST_CASE("a lost job's payload that exited while its pilot was gone is finished with its exit") {
  namespace jw = pilot::jobwrapper;
  pilot::TempDir d("jwlost");
  auto proc = d.path() / "proc";
  std::filesystem::create_directories(proc);
  auto code = GENERATE(0, 3);
  lost_running_job(d.path(), code, std::nullopt);
  auto done = jw::finish_lost_job(d.path(), 0.1, proc, {});
  REQUIRE(done);
  CHECK(done->outcome == (code == 0 ? jw::Outcome::success : jw::Outcome::failed));
  CHECK(done->exit_code == code);
  CHECK(done->cpu_seconds == 2.5);
  CHECK(done->stdout_log.path == "std.out.zst");
  CHECK(done->stdout_log.bytes == 42);
  CHECK(done->extra["lost_pilot"]["payload_ended_alone"] == true);
  CHECK(done->signals_sent.empty());
}

TEST_CASE("a lost job's payload killed by a signal, or stopped by a recovering pilot, is lost") {
  namespace jw = pilot::jobwrapper;
  pilot::TempDir d("jwlost");
  auto proc = d.path() / "proc";
  std::filesystem::create_directories(proc);
  SECTION("killed with its pilot") {
    lost_running_job(d.path(), std::nullopt, SIGKILL);
  }
  SECTION("its exit 130 came after a stop an earlier recovering pilot sent") {
    auto rec = lost_running_job(d.path(), 130, std::nullopt);
    rec.extra[jw::kLostPilotKey] = {{"stop_sent", true}};
    jw::save_job_record(d.path(), rec);
  }
  auto done = jw::finish_lost_job(d.path(), 0.1, proc, {});
  REQUIRE(done);
  CHECK(done->outcome == jw::Outcome::lost);
  CHECK_FALSE(done->extra["lost_pilot"].contains("payload_ended_alone"));
}

TEST_CASE("a job marker names the pilot that made it") {
  CHECK(pilot::jobwrapper::marker_pilot(pilot::jobwrapper::make_marker()) == ::getpid());
  CHECK_FALSE(pilot::jobwrapper::marker_pilot("x-1"));
  CHECK_FALSE(pilot::jobwrapper::marker_pilot("42"));
}
