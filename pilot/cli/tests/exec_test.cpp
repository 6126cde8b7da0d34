// `pilot exec` end to end: the built binary, real payloads, real signals.
#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "core/zstd_file.hpp"
#include "jobwrapper/cgroup.hpp"
#include "jobwrapper/job_record.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "processes.hpp"
#include "run_pilot.hpp"

namespace jw = pilot::jobwrapper;
using pilot::test::last_json_line;
using pilot::test::process_alive;
using pilot::test::read_pid_file;
using pilot::test::run_pilot;

namespace {

// Runs a shell script (with $PILOT set to the binary) and returns its exit code and output.
pilot::CommandResult shell(const std::string& script) {
  pilot::CommandOptions o;
  o.timeout = std::chrono::seconds(60);
  o.set_env = {{"PILOT", pilot::test::pilot_binary()}};
  auto r = pilot::run_command({"/bin/sh", "-c", script}, o);
  REQUIRE(r);
  return *r;
}

bool cgroup_available() {
  return jw::find_own_cgroup_place("/sys/fs/cgroup", "/proc").has_value();
}

}  // namespace

TEST_CASE("pilot exec --json prints the record and exits with the payload's exit code") {
  pilot::TempDir d("jwcli");
  auto r = run_pilot({"exec", "--workdir", (d.path() / "j").string(), "--json", "--poll", "0.05",
                      "--", "/bin/sh", "-c", "echo out; exit 3"});
  CHECK(r.exit_code == 3);
  auto j = last_json_line(r.out);
  for (auto k : {"state", "exit_code", "signal", "reason", "wall_seconds", "cpu_seconds",
                 "max_pss_bytes", "max_rss_bytes", "workdir"})
    CHECK(j.contains(k));
  CHECK(j["state"] == "finished");
  CHECK(j["exit_code"] == 3);
  CHECK(j["signal"].is_null());
  CHECK(j["reason"].is_null());
  CHECK(j["workdir"] == (d.path() / "j").string());
  CHECK(pilot::read_zstd_file(d.path() / "j" / "std.out.zst") == "out\n");
}

TEST_CASE("pilot exec exits 128+signal when the payload dies of a signal") {
  pilot::TempDir d("jwcli");
  auto r = run_pilot({"exec", "--workdir", (d.path() / "j").string(), "--json", "--", "/bin/sh",
                      "-c", "kill -KILL $$"});
  CHECK(r.exit_code == 137);
  auto j = last_json_line(r.out);
  CHECK(j["exit_code"].is_null());
  CHECK(j["signal"] == "SIGKILL");
}

TEST_CASE("pilot exec applies the wall-clock limit and names the reason") {
  pilot::TempDir d("jwcli");
  auto r = run_pilot({"exec", "--workdir", (d.path() / "j").string(), "--json", "--poll", "0.05",
                      "--wall-limit", "0.3", "--stop-signal", "SIGTERM", "--", "sleep", "30"});
  CHECK(r.exit_code == 128 + 15);
  auto j = last_json_line(r.out);
  CHECK(j["reason"] == "wall_clock");
  CHECK(j["reason_text"] == "Job has exceeded maximum wall clock time");
  CHECK(j["signal"] == "SIGTERM");
}

TEST_CASE("SIGUSR1, SIGTERM and SIGINT to pilot exec become one graceful stop of the payload") {
  for (const char* sig : {"USR1", "TERM", "INT"}) {
    DYNAMIC_SECTION("SIG" << sig) {
      pilot::TempDir d("jwcli");
      // The payload stops cleanly on USR1 (its configured stop signal) with exit code 42.
      auto r =
          shell("\"$PILOT\" exec --workdir " + (d.path() / "j").string() +
                " --json --poll 0.05 --stop-signal 10 -- /bin/sh -c "
                "'trap \"exit 42\" USR1; echo ready > ready; while :; do sleep 0.05; done' & p=$!; "
                "while [ ! -e " +
                (d.path() / "j" / "ready").string() +
                " ]; do sleep 0.05; done; "
                "kill -" +
                sig + " $p; wait $p");
      CHECK(r.exit_code == 42);
      auto j = last_json_line(r.out);
      CHECK(j["reason"] == "stop_requested");
      CHECK(j["reason_detail"] == std::string("pilot received SIG") + sig);
      CHECK(j["outcome"] == "stopped");
      REQUIRE(j["signals_sent"].size() == 1);
      CHECK(j["signals_sent"][0]["signal"] == "SIGUSR1");
    }
  }
}

TEST_CASE("the pilot's credentials reach the payload only when asked") {
  pilot::TempDir d("jwcli");
  std::map<std::string, std::string> env{
      {"X509_USER_PROXY", "/tmp/x509up_test"}, {"BEARER_TOKEN", "secret"}, {"KEEP_ME", "yes"}};
  auto r = run_pilot({"exec", "--workdir", (d.path() / "a").string(), "--env", "EXTRA=1", "--unset",
                      "KEEP_ME", "--", "env"},
                     env);
  REQUIRE(r.exit_code == 0);
  auto out = pilot::read_zstd_file(d.path() / "a" / "std.out.zst");
  CHECK_THAT(out, !Catch::Contains("X509_USER_PROXY") && !Catch::Contains("BEARER_TOKEN"));
  CHECK_THAT(out, !Catch::Contains("KEEP_ME") && Catch::Contains("EXTRA=1\n") &&
                      Catch::Contains("PILOT_JOB_MARKER="));
  r = run_pilot({"exec", "--workdir", (d.path() / "b").string(), "--pass-credentials", "--", "env"},
                env);
  out = pilot::read_zstd_file(d.path() / "b" / "std.out.zst");
  CHECK_THAT(out, Catch::Contains("X509_USER_PROXY=/tmp/x509up_test\n") &&
                      Catch::Contains("BEARER_TOKEN=secret\n"));
}

TEST_CASE("pilot exec rejects bad values naming the option") {
  auto r = run_pilot({"exec", "--memory-limit", "lots", "--", "true"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("--memory-limit") && Catch::Contains("lots"));
  r = run_pilot({"exec", "--stop-signal", "FOO", "--", "true"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("FOO"));
  r = run_pilot({"exec", "--stop-signal", "KILL", "--", "true"});
  CHECK(r.exit_code == 1);
  r = run_pilot({"exec", "--wall-limit", "-1", "--", "true"});
  CHECK(r.exit_code == 2);
  r = run_pilot({"exec"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("after the pilot is SIGKILLed, job.json still tells what was running") {
  pilot::TempDir d("jwcli");
  auto wd = (d.path() / "j").string();
  auto r = shell("\"$PILOT\" exec --workdir " + wd +
                 " --tracking proc --poll 0.05 -- /bin/sh -c "
                 "'exec sleep 5' & p=$!; "
                 "until grep -qs '\"state\": *\"running\"' " +
                 wd + "/job.json; do sleep 0.05; done; kill -KILL $p; wait $p; exit 0");
  CHECK(r.exit_code == 0);
  auto rec = jw::load_job_record(wd);
  REQUIRE(rec);
  CHECK(rec->state == jw::JobState::running);
  // Signalling pid 0 or -1 would reach the test runner itself, or every process.
  REQUIRE(rec->pid > 1);
  CHECK_FALSE(rec->started_at.empty());
  CHECK(rec->argv.back() == "exec sleep 5");
  ::kill(rec->pid, SIGKILL);  // the orphaned payload, which its pilot can no longer stop
}

TEST_CASE("a payload filling a small file system trips the disk check") {
  pilot::TempDir d("jwcli");
  auto mnt = d.path().string();
  auto probe = shell("unshare -m /bin/sh -c 'mount -t tmpfs -o size=1m tmpfs " + mnt +
                     " && umount " + mnt + "' 2>&1");
  if (probe.exit_code != 0) {
    WARN("not tested here: cannot mount a small tmpfs in a private mount namespace (unshare -m): "
         << probe.out);
    return;
  }
  auto r = shell("unshare -m /bin/sh -c 'mount -t tmpfs -o size=8m tmpfs " + mnt +
                 " && exec \"$PILOT\" exec --workdir " + mnt +
                 "/job --json --poll 0.05 --min-disk 3M --grace 1 -- /bin/sh -c "
                 "\"dd if=/dev/zero of=fill bs=1M count=7 2>/dev/null; sleep 30\"'");
  auto j = last_json_line(r.out);
  CHECK(j["reason"] == "disk_space");
  CHECK(j["reason_text"] == "Job has insufficient disk space to continue");
  CHECK(j["outcome"] == "killed");
}

TEST_CASE("a lost pilot's job cgroup is emptied and removed by the pilot that recovers the job") {
  if (!cgroup_available()) {
    WARN("not tested here: no writable cgroup below this process's own (see /proc/self/cgroup)");
    return;
  }
  pilot::TempDir d("jwcli");
  auto wd = d.path() / "j";
  // The payload's grandchild leaves its session and drops the marker: only the cgroup knows it.
  pilot::write_file_atomic(d.path() / "payload.sh",
                           "/bin/sh -c 'setsid env -i /bin/sh -c \"echo \\$\\$ > child.pid; exec "
                           "sleep 300\" &'\nwhile [ ! -s child.pid ]; do sleep 0.05; done\n"
                           "exec sleep 300\n");
  {
    pilot::test::PilotProcess p({"exec", "--workdir", wd.string(), "--tracking", "cgroup", "--poll",
                                 "0.05", "--", "/bin/sh", (d.path() / "payload.sh").string()},
                                d.path());
    REQUIRE(pilot::test::wait_until([&] {
      auto rec = jw::load_job_record(wd);
      return rec && rec->state == jw::JobState::running && pilot::read_file(wd / "child.pid");
    }));
    p.signal(SIGKILL);
    REQUIRE(p.wait());
  }
  auto rec = jw::load_job_record(wd);
  REQUIRE(rec);
  REQUIRE_THAT(rec->tracking, Catch::StartsWith("cgroup"));
  std::filesystem::path cgroup_dir = rec->tracking.substr(rec->tracking.find(' ') + 1);
  REQUIRE(std::filesystem::is_directory(cgroup_dir));
  pid_t child = read_pid_file(wd / "child.pid");
  REQUIRE(rec->pid > 1);
  CHECK(process_alive(child));
  auto r = run_pilot({"exec", "--workdir", wd.string(), "--recover", "--grace", "1"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK_FALSE(process_alive(rec->pid));
  CHECK_FALSE(process_alive(child));
  CHECK_FALSE(std::filesystem::exists(cgroup_dir));
  if (process_alive(child)) ::kill(child, SIGKILL);
}

TEST_CASE("PILOT_TRACE: the pilot and its payload's keeper each append their phase timings") {
  pilot::TempDir d("jwtrace");
  auto trace = d.path() / "trace.jsonl";
  auto r = run_pilot({"exec", "--workdir", (d.path() / "j").string(), "--json", "--", "/bin/true"},
                     {{"PILOT_TRACE", trace.string()}});
  REQUIRE(r.exit_code == 0);
  std::map<std::string, nlohmann::json> by_process;
  auto text = pilot::read_file(trace).value_or("");
  std::size_t start = 0;
  for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', start)) {
    auto line = nlohmann::json::parse(text.substr(start, nl - start));
    by_process[line["process"].get<std::string>()] = line["phases"];
    start = nl + 1;
  }
  INFO(text);
  REQUIRE(by_process.count("exec"));
  REQUIRE(by_process.count("keep"));
  const auto& exec = by_process["exec"];
  for (auto phase : {"main", "job.start", "job.keeper_start", "job.payload", "job.finish",
                     "fs.write_atomic", "fs.fsync"})
    CHECK(exec.contains(phase));
  for (auto phase : {"keeper.start", "keeper.payload", "keeper.close", "keeper.compress"})
    CHECK(by_process["keep"].contains(phase));
  // Two fsyncs per atomic write (the file and its directory), and the keeper's phase is inside
  // the pilot's wait for it.
  CHECK(exec["fs.fsync"]["n"].get<int>() >= 2 * exec["fs.write_atomic"]["n"].get<int>());
  CHECK(exec["job.keeper_start"]["ns"].get<std::int64_t>() >=
        by_process["keep"]["keeper.start"]["ns"].get<std::int64_t>());
  CHECK(exec["main"]["first_ns"].get<std::int64_t>() <=
        exec["job.start"]["first_ns"].get<std::int64_t>());
}

TEST_CASE("an unwritable PILOT_TRACE is said once on stderr and changes nothing else") {
  pilot::TempDir d("jwtrace");
  auto r = run_pilot({"exec", "--workdir", (d.path() / "j").string(), "--", "/bin/true"},
                     {{"PILOT_TRACE", (d.path() / "no" / "such" / "dir" / "t.jsonl").string()}});
  CHECK(r.exit_code == 0);
  auto said = r.err.find("cannot append the phase timings");
  REQUIRE(said != std::string::npos);
  CHECK(r.err.find("cannot append the phase timings", said + 1) == std::string::npos);
}
