// `pilot run` end to end against tests/fake_dirac/fake_dirac.py: real TLS, real DISET and HTTPS,
// real payloads and signals. Every scenario asserts what the server received; ctest runs each
// against the server acting as DIRAC v8 (DEncode, DN, Setup) and as v9 (JSON, Owner, no Setup).
#include <signal.h>
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "fake_server.hpp"
#include "jobwrapper/job_record.hpp"
#include "mc/checkpoint.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"
#include "sandbox/tar.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::dirac::test::python_tar;
using pilot::dirac::test::tar_member;
using pilot::test::PilotProcess;
using pilot::test::run_pilot;
using pilot::test::wait_until;
namespace fs = std::filesystem;

namespace {

// The pilot of these tests also uses the JobManager, beats every 0.5 s, needs 600 s of proxy
// left and has a drain file of its own.
struct Pilot {
  pilot::TempDir dir{"agent-dirac-e2e"};
  fs::path work() const { return dir.path() / "work"; }

  std::vector<std::string> args(const FakeDirac& server,
                                const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{
        "--set",
        "services.job_manager=[\"" + server.diset_url("WorkloadManagement/JobManager") + "\"]",
        "--set",
        "heartbeat_s=0.5",
        "--set",
        "min_proxy_lifetime_s=600",
        "--set",
        "drain_file=" + (dir.path() / "drain").string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return pilot::agent::test::dirac_run_args(server, work(), "proxy.pem", a);
  }
};

std::string toymc_jdl(int id, const std::string& args, const std::string& extra = "") {
  return "[ Executable = \"" + std::string(TOYMC_BIN) + "\"; Arguments = \"" + args +
         "\"; JobType = \"MCSimulation\"; CPUTime = 600; JobID = " + std::to_string(id) + "; " +
         extra + " ]";
}

// "Status/MinorStatus" of every status the server received for `job`, in the order it applies
// them; a field a report leaves out (DIRAC sends a minor status alone) keeps its last value, the
// job being Matched when the pilot receives it.
std::vector<std::string> statuses(const FakeDirac& s, int job) {
  std::vector<std::string> out;
  std::string status = "Matched", minor;
  auto add = [&](const std::string& st, const std::string& mi) {
    if (!st.empty()) status = st;
    if (!mi.empty()) minor = mi;
    out.push_back(status + "/" + minor);
  };
  for (const auto& r : s.records()) {
    if (!r.contains("args") || !r["args"].is_array() || r["args"].empty() || r["args"][0] != job)
      continue;
    auto m = r.value("method", "");
    if (m == "setJobStatusBulk") {
      std::map<std::string, json> by_time;  // the server sorts the timestamps too
      for (auto& [ts, st] : r["args"][1].items()) by_time[ts] = st;
      for (auto& [ts, st] : by_time) add(st.value("Status", ""), st.value("MinorStatus", ""));
    } else if (m == "setJobStatus") {
      add(r["args"][1].get<std::string>(), r["args"][2].get<std::string>());
    }
  }
  return out;
}

// Every parameter the server received for `job` (last value wins).
std::map<std::string, std::string> parameters(const FakeDirac& s, int job) {
  std::map<std::string, std::string> out;
  for (const auto& r : s.calls("setJobParameters"))
    if (r["args"][0] == job)
      for (const auto& p : r["args"][1])
        out[p[0].get<std::string>()] = p[1].is_string() ? p[1].get<std::string>() : p[1].dump();
  for (const auto& r : s.calls("setJobParameter"))
    if (r["args"][0] == job) out[r["args"][1].get<std::string>()] = r["args"][2].get<std::string>();
  return out;
}

// The status a job ends with: the last one the server received that is not merely informational.
std::string final_status(const FakeDirac& s, int job) {
  auto all = statuses(s, job);
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    auto st = it->substr(0, it->find('/'));
    if (!st.empty()) return st;
  }
  return "";
}

}  // namespace

TEST_CASE(
    "agent dirac: several jobs in sequence, each with the full status flow and its parameters") {
  FakeDirac server({"--jobs", "3"});
  json jdls;
  for (int id = 1; id <= 3; ++id)
    jdls[std::to_string(id)] = toymc_jdl(id, "--events 5 --cpu-ms-per-event 1");
  server.control({{"jdl", jdls}});
  Pilot p;
  auto r = run_pilot(p.args(server, {"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 3);
  CHECK(s["jobs_succeeded"] == 3);
  CHECK(s["stop_reason"] == "too many consecutive failed matches");
  auto requests = server.calls("requestJob");
  CHECK(requests.size() == 4);  // three matches and the failed one that ends the pilot
  for (int id = 1; id <= 3; ++id) {
    INFO("job " << id);
    std::vector<std::string> want{"Matched/Job Received by Agent",
                                  "Matched/Submitting To CE",
                                  "Running/Job Initialization",
                                  "Running/Application",
                                  "Completing/Application Finished Successfully",
                                  "Done/Execution Complete"};
    auto got = statuses(server, id);
    std::vector<std::string> flow;
    for (const auto& st : got)
      if (st != "/" && (flow.empty() || flow.back() != st)) flow.push_back(st);
    CHECK(flow == want);
    auto params = parameters(server, id);
    CHECK(params.count("TotalCPUTime(s)") == 1);
    CHECK(params.count("WallClockTime(s)") == 1);
  }
}

TEST_CASE(
    "agent dirac: a 6-processor pilot runs four 1-processor jobs and one 2-processor job at once") {
  FakeDirac server({"--jobs", "5"});
  Pilot p;
  auto meet = p.dir.path() / "meet";
  fs::create_directories(meet);
  // Each job announces itself and waits until all five are running: only concurrency passes.
  std::string script =
      "touch " + meet.string() + "/$$; i=0; while [ $(ls " + meet.string() +
      " | wc -l) -lt 5 ]; do i=$((i+1)); [ $i -gt 300 ] && exit 7; sleep 0.1; done; echo met";
  json jdls;
  for (int id = 1; id <= 5; ++id)
    jdls[std::to_string(id)] = "[ Executable = \"/bin/sh\"; Arguments = \"-c '" + script +
                               "'\"; CPUTime = 60; JobID = " + std::to_string(id) + "; " +
                               (id == 3 ? "NumberOfProcessors = 2; " : "") + "]";
  server.control({{"jdl", jdls}});
  auto r = run_pilot(p.args(server, {"--set", "processors=6"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_succeeded"] == 5);
  CHECK(std::distance(fs::directory_iterator(meet), fs::directory_iterator()) == 5);
  for (int id = 1; id <= 5; ++id) CHECK(final_status(server, id) == "Done");

  // What the pilot offered: its processors, the strategy tags, the free processors as they shrank.
  std::set<std::string> tags;
  std::set<std::int64_t> processors;
  bool whole_node = false;
  for (const auto& c : server.calls("requestJob")) {
    const auto& d = c["args"][0];
    REQUIRE(d.contains("NumberOfProcessors"));
    processors.insert(d["NumberOfProcessors"].get<std::int64_t>());
    whole_node = whole_node || d.value("WholeNode", false);
    if (d.contains("RequiredTag"))
      for (const auto& t : d["RequiredTag"]) tags.insert(t.get<std::string>());
  }
  CHECK(processors.count(6) == 1);
  CHECK(whole_node);
  CHECK(tags.count("WholeNode") == 1);
  // The first offer is the whole node, then exactly the free processors as they shrink.
  CHECK(tags.count("5Processors") == 1);
  CHECK(tags.count("4Processors") == 1);
  CHECK(tags.count("MultiProcessor") == 1);
  CHECK(tags.count("2Processors") == 1);
}

TEST_CASE(
    "agent dirac: a payload exiting 222 is rescheduled through the JobManager until "
    "MaxRescheduling") {
  FakeDirac server({"--jobs", "2", "--max-rescheduling", "1"});
  Pilot p;
  auto script = [&](const std::string& name, const std::string& last) {
    return pilot::test::write_counting_script(p.dir.path(), name, last).string();
  };
  json jdls;
  jdls["1"] = "[ Executable = \"/bin/sh\"; Arguments = \"" +
              script("once", "[ $n -ge 2 ] && exit 0; exit 222") +
              "\"; CPUTime = 600; JobID = 1; ]";
  jdls["2"] = "[ Executable = \"/bin/sh\"; Arguments = \"" + script("always", "exit 222") +
              "\"; CPUTime = 600; JobID = 2; ]";
  server.control({{"jdl", jdls}});
  auto r = run_pilot(p.args(server, {"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_succeeded"] == 1);
  CHECK(s["jobs_rescheduled"] == 3);

  auto flow = statuses(server, 1);
  auto at = [&](const std::string& st) {
    return std::find(flow.begin(), flow.end(), st) - flow.begin();
  };
  CHECK(at("Completing/Going to reschedule job") < at("Rescheduled/JobWrapper execution"));
  CHECK(at("Rescheduled/JobWrapper execution") < static_cast<long>(flow.size()));
  CHECK(final_status(server, 1) == "Done");
  CHECK(pilot::read_file(p.dir.path() / "once") == "2\n");

  // One call per handed-back run, each after the job's Rescheduled status reached the server;
  // the third is refused by MaxRescheduling and the server fails the job itself.
  std::vector<json> calls;
  bool rescheduled_reported = false;
  for (const auto& rec : server.records()) {
    auto m = rec.value("method", "");
    if (m == "setJobStatusBulk" && rec["args"][0] == 1 &&
        rec["args"][1].dump().find("\"Rescheduled\"") != std::string::npos)
      rescheduled_reported = true;
    if (m == "rescheduleJob") {
      if (calls.empty()) CHECK(rescheduled_reported);
      calls.push_back(rec);
    }
  }
  REQUIRE(calls.size() == 3);
  CHECK(calls[0]["service"] == "WorkloadManagement/JobManager");
  CHECK(calls[0]["args"] == json::array({1}));
  CHECK(calls[0]["reply"]["OK"] == true);
  CHECK(calls[1]["args"] == json::array({2}));
  CHECK(calls[1]["reply"]["OK"] == true);
  CHECK(calls[2]["args"] == json::array({2}));
  CHECK(calls[2]["reply"]["OK"] == false);
  CHECK_THAT(calls[2]["reply"]["Message"].get<std::string>(),
             Catch::Contains("Maximum number of reschedulings is reached: 1"));
  CHECK_THAT(r.err, Catch::Contains("reschedule refused by the server"));
}

TEST_CASE(
    "agent dirac: a job whose pilot was lost before its payload made anything is rescheduled and "
    "runs") {
  for (bool payload_started : {false, true}) {
    DYNAMIC_SECTION(
        (payload_started ? "payload started, pid never recorded" : "payload never started")) {
      FakeDirac server({"--jobs", "1"});
      Pilot p;
      // What a pilot killed after preparing job 1, before (or just after) starting its payload
      // and before recording its pid, leaves behind.
      auto dir = p.work() / "job_1";
      fs::create_directories(dir);
      pilot::write_file_atomic(dir / "job.jdl",
                               "[ Executable = \"/bin/true\"; CPUTime = 600; JobID = 1; ]");
      pilot::jobwrapper::JobRecord rec;
      rec.job_id = "1";
      rec.state = pilot::jobwrapper::JobState::prepared;
      rec.marker = "lost-pilot-marker-" + std::to_string(::getpid());
      rec.workdir = dir.string();
      rec.extra["agent"] = {{"processors", 1}, {"job_source", "DIRAC " + server.diset_url()}};
      pilot::jobwrapper::save_job_record(dir, rec);
      pid_t orphan = 0;
      if (payload_started) {
        auto o = pilot::run_command(
            {"/bin/sh", "-c",
             "setsid env PILOT_JOB_MARKER=" + rec.marker + " sleep 300 >/dev/null 2>&1 & echo $!"});
        REQUIRE(o);
        orphan = std::stoi(o->out);
        REQUIRE(wait_until([&] {
          auto env = pilot::read_file("/proc/" + std::to_string(orphan) + "/environ");
          return env && env->find(rec.marker) != std::string::npos;
        }));
      }
      // The orphan ignores SIGINT (a background job of sh): the grace before SIGKILL is short.
      auto r = run_pilot(p.args(server, {"--set", "processors=1", "--set", "grace_s=1"}));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      auto s = pilot::test::last_json_line(r.out);
      CHECK(s["jobs_recovered"] == 1);
      CHECK(s["jobs_rescheduled"] == 1);
      CHECK(s["jobs_succeeded"] == 1);  // matched again once rescheduled, and run
      auto flow = statuses(server, 1);
      REQUIRE_FALSE(flow.empty());
      CHECK(flow.front() == "Rescheduled/");
      CHECK(final_status(server, 1) == "Done");
      auto calls = server.calls("rescheduleJob");
      REQUIRE(calls.size() == 1);
      CHECK(calls[0]["reply"]["OK"] == true);
      CHECK(fs::is_directory(p.work() / "earlier_job_1_1"));
      if (payload_started) {
        auto st = pilot::read_file("/proc/" + std::to_string(orphan) + "/stat");
        CHECK((!st || st->find(") Z ") != std::string::npos));  // stopped by the recovering pilot
        if (st && st->find(") Z ") == std::string::npos) ::kill(orphan, SIGKILL);
      }
    }
  }
}

TEST_CASE("agent dirac: a Kill returned by the heartbeat stops the payload, reported Failed") {
  FakeDirac server({"--jobs", "1"});
  server.control(
      {{"jdl",
        {{"1",
          "[ Executable = \"/bin/sleep\"; Arguments = \"60\"; CPUTime = 600; JobID = 1; ]"}}}});
  Pilot p;
  PilotProcess pilot(p.args(server, {"--set", "processors=1"}), p.dir.path());
  REQUIRE(wait_until([&] { return !server.calls("sendHeartBeat").empty(); }));
  server.control(
      {{"jdl",
        {{"1", "[ Executable = \"/bin/sleep\"; Arguments = \"60\"; CPUTime = 600; JobID = 1; ]"}}},
       {"kill", json::array({1})}});
  auto rc = pilot.wait(std::chrono::seconds(40));
  INFO(pilot.err());
  REQUIRE(rc);
  auto summary = pilot::test::last_json_line(pilot.out());
  CHECK(summary["jobs_failed"] == 1);
  CHECK(summary["jobs_matched"] == 1);
  CHECK(final_status(server, 1) == "Failed");
  // As DIRAC's Watchdog and JobWrapper end a killed job: Failed with the kill as its reason,
  // never Completing after it (the server refuses Killed -> Completing).
  auto flow = statuses(server, 1);
  auto kill_at = std::find(flow.begin(), flow.end(), "Failed/Received Kill signal");
  REQUIRE(kill_at != flow.end());
  for (auto it = kill_at; it != flow.end(); ++it) CHECK(it->starts_with("Failed/"));
  CHECK(std::none_of(flow.begin(), flow.end(),
                     [](const std::string& f) { return f.starts_with("Completing/"); }));
  // The server (which set the job Killed, then Running at the heartbeat) accepted every status.
  json after;
  for (const auto& rec : server.records())
    if (rec.contains("args") && rec["args"].is_array() && !rec["args"].empty() &&
        rec["args"][0] == 1) {
      CHECK_FALSE(rec.contains("refused"));
      CHECK_FALSE(rec.contains("sql_error"));
      if (rec.contains("job_after")) after = rec["job_after"];
    }
  CHECK(after["Status"] == "Failed");
  CHECK(after["MinorStatus"] == "Received Kill signal");
  bool killed_reply = false;
  for (const auto& h : server.calls("sendHeartBeat"))
    killed_reply = killed_reply || h["reply"]["Value"].contains("Kill");
  CHECK(killed_reply);
  auto wall = parameters(server, 1)["WallClockTime(s)"];
  REQUIRE_FALSE(wall.empty());
  CHECK(std::stod(wall) < 50);  // stopped, not run to its end
}

TEST_CASE(
    "agent dirac: the parameters and environment DIRAC's JobAgent, JobWrapper and Watchdog give a "
    "job") {
  FakeDirac server({"--jobs", "1"});
  server.control(
      {{"jdl",
        {{"1",
          "[ Executable = \"/bin/sh\"; Arguments = \"-c 'env > env.txt'\"; CPUTime = 600; "
          "JobType = \"User\"; JobGroup = \"interop\"; NumberOfProcessors = 2; JobID = 1; ]"}}}});
  Pilot p;
  auto r = run_pilot(p.args(server, {"--set", "processors=2", "--set", "ce=ce.test.ch", "--set",
                                     "queue=long", "--set", "pilot_uuid=pilot-ref-1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto params = parameters(server, 1);
  CHECK(params["Pilot_Reference"] == "pilot-ref-1");  // StalledJobAgent looks the pilot up by it
  CHECK(params["JobType"] == "User");
  CHECK(params["JobGroup"] == "interop");
  CHECK(params["GridCE"] == "ce.test.ch");
  CHECK(params["CEQueue"] == "long");
  CHECK(params["CPUNormalizationFactor"] == "10.00");
  CHECK(params["PilotAgent"].starts_with("pilot "));
  CHECK(std::stol(params["JobWrapperPID"]) > 1);
  CHECK(std::stol(params["PayloadPID"]) > 1);
  CHECK(params.count("MatcherServiceTime") == 1);
  CHECK(params.count("HostName") == 1);
  CHECK(params.count("TotalCPUTime(s)") == 1);
  CHECK(params.count("NormCPUTime(s)") == 1);
  CHECK(params.count("ScaledCPUTime(s)") == 1);
  auto env = pilot::read_file(p.work() / "job_1" / "env.txt").value_or("");
  CHECK_THAT(env, Catch::Contains("DIRAC_JOB_PROCESSORS=2\n"));
  CHECK_THAT(env, Catch::Contains("DIRAC_PROCESSORS=2\n"));
  CHECK_THAT(env, Catch::Contains("DIRAC_WHOLENODE=False\n"));
  CHECK_THAT(env, Catch::Contains("JOBID=1\n"));
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_matched"] == 1);
  CHECK(s["jobs_succeeded"] == 1);
}

TEST_CASE("agent dirac: heartbeats carry DIRAC's Watchdog units (MB, wall time x processors)") {
  FakeDirac server({"--jobs", "1"});
  server.control({{"jdl",
                   {{"1",
                     "[ Executable = \"/bin/sleep\"; Arguments = \"2\"; CPUTime = 600; "
                     "NumberOfProcessors = 2; JobID = 1; ]"}}}});
  Pilot p;
  auto r = run_pilot(p.args(server, {"--set", "processors=2"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto beats = server.calls("sendHeartBeat");
  REQUIRE(beats.size() >= 2);
  json last;
  for (const auto& b : beats)
    if (b["args"][1].contains("WallClockTime")) last = b["args"][1];
  REQUIRE(last.is_object());
  CHECK(last["MemoryUsed"].get<double>() < 100);  // a sleep's RSS in MB (it was kB before)
  CHECK(last["Vsize"].get<double>() < 1000);
  CHECK(last["WallClockTime"].get<double>() >= 2.0);  // >= 1 s of wall on 2 processors
}

TEST_CASE(
    "agent dirac: a reclaim signal interrupts three running MC jobs and reports every event") {
  FakeDirac server({"--jobs", "3"});
  json jdls;
  for (int id = 1; id <= 3; ++id)
    jdls[std::to_string(id)] =
        toymc_jdl(id, "--cpu-ms-per-event 5", "CPUe = 1; MaxNumberOfEvents = 100000;");
  server.control({{"jdl", jdls}});
  Pilot p;
  PilotProcess pilot(p.args(server, {"--set", "processors=3", "--set", "grace_s=10"}),
                     p.dir.path());
  auto checkpoints = [&] {
    int n = 0;
    for (int id = 1; id <= 3; ++id) {
      try {
        auto cp = pilot::mc::read_checkpoint(p.work() / ("job_" + std::to_string(id)) /
                                             "pilot-checkpoint.txt");
        n += cp && cp->events >= 3;
      } catch (...) {
      }
    }
    return n;
  };
  REQUIRE(wait_until([&] { return checkpoints() == 3; }, std::chrono::seconds(60)));
  pilot.signal(SIGUSR1);
  auto rc = pilot.wait(std::chrono::seconds(30));
  INFO(pilot.err());
  REQUIRE(rc);
  CHECK(*rc == 0);
  auto s = pilot::test::last_json_line(pilot.out());
  CHECK(s["jobs_interrupted"] == 3);
  CHECK(s["stop_reason"] == "stopped by a signal");
  std::int64_t total = 0;
  for (int id = 1; id <= 3; ++id) {
    INFO("job " << id);
    CHECK(final_status(server, id) == "Done");
    auto params = parameters(server, id);
    REQUIRE(params.count("NumberOfEvents") == 1);
    auto events = std::stoll(params["NumberOfEvents"]);
    CHECK(events >= 3);
    CHECK(params["Interrupted"] == "True");
    CHECK(events ==
          pilot::test::count_lines(p.work() / ("job_" + std::to_string(id)) / "toymc.out"));
    total += events;
  }
  CHECK(s["events"] == total);
}

TEST_CASE("agent dirac: a drain file stops the pilot before it asks for a job") {
  FakeDirac server({"--jobs", "1"});
  Pilot p;
  pilot::write_file_atomic(p.dir.path() / "drain", "");
  auto r = run_pilot(p.args(server));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 0);
  CHECK(s["stop_reason"] == "drain file present");
  CHECK(server.calls("requestJob").empty());
}

TEST_CASE("agent dirac: a proxy about to expire") {
  // make-test-pki.sh's proxy is valid for one day.
  constexpr double kProxyLife = 86400.0;
  SECTION("below the minimum lifetime the pilot refuses at start-up, naming the step") {
    FakeDirac server({"--jobs", "1"});
    Pilot p;
    auto r = run_pilot(
        p.args(server, {"--set", "min_proxy_lifetime_s=" + std::to_string(kProxyLife + 86400)}));
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("credentials") != std::string::npos);
    CHECK(server.calls("requestJob").empty());
  }
  SECTION(
      "enough to start but short of the slot: the offered CPUTime is cut to the proxy's lifetime") {
    FakeDirac server({"--jobs", "0"});
    Pilot p;
    double min_life = kProxyLife - 3600;
    auto r =
        run_pilot(p.args(server, {"--set", "processors=1", "--set", "wall_limit_s=100000000",
                                  "--set", "min_proxy_lifetime_s=" + std::to_string(min_life)}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto requests = server.calls("requestJob");
    REQUIRE(requests.size() == 1);
    auto cpu = requests[0]["args"][0]["CPUTime"].get<double>();
    // seconds left (at most the proxy's life) less half the minimum, x 10 HS06 x 1 processor
    CHECK(cpu <= (kProxyLife - min_life / 2) * 10);
    CHECK(cpu > (kProxyLife - 3600 - min_life / 2) * 10);
    CHECK(cpu < 100000000.0 * 10);
  }
}

namespace {

const std::string kSbBz2 = "SB:SandboxSE|/SandBox/p/pilot.testvo_user/abc/def/abcdef.tar.bz2";
const std::string kSbGz = "SB:SandboxSE|/SandBox/p/pilot.testvo_user/123/456/123456.tar.gz";

}  // namespace

TEST_CASE(
    "agent dirac: input sandboxes (tar.bz2, tar.gz) reach the payload, its output sandbox reaches "
    "the store") {
  FakeDirac server;
  Pilot p;
  fs::create_directories(p.dir.path() / "sb");
  auto bz = python_tar(
      p.dir.path() / "sb/in.tar.bz2", "w:bz2",
      tar_member("run.sh", "b'cat input.txt dir/second.txt > result.txt\\necho payload ran\\n'",
                 0755) +
          tar_member("input.txt", "b'from the bz2 sandbox\\n'"));
  auto gz = python_tar(p.dir.path() / "sb/in.tar.gz", "w:gz",
                       tar_member("dir/second.txt", "b'from the gz sandbox\\n'"));
  server.control(
      {{"sandboxes", {{kSbBz2, bz.string()}, {kSbGz, gz.string()}}},
       {"jdl",
        {{"1",
          "[ Executable = \"/bin/sh\"; Arguments = \"run.sh\"; CPUTime = 600; JobID = 1;"
          " StdOutput = \"std.out\"; StdError = \"std.err\";"
          " InputSandbox = { \"" +
              kSbBz2 + "\", \"" + kSbGz +
              "\" };"
              " OutputSandbox = { \"std.out\", \"std.err\", \"result.txt\", \"*.root\" }; ]"}}}});
  auto r = run_pilot(
      p.args(server, {"--set", "services.sandbox_store=[\"" +
                                   server.diset_url("WorkloadManagement/SandboxStore") + "\"]"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(pilot::test::last_json_line(r.out)["jobs_succeeded"] == 1);

  std::vector<nlohmann::json> stored;
  for (const auto& rec : server.records())
    if (rec.value("event", "") == "sandbox stored") stored.push_back(rec);
  REQUIRE(stored.size() == 1);
  CHECK(stored[0]["assigned"] == json{{"Job:1", "Output"}});
  // Uploaded as the job's owner (its proxy), as DIRAC's job wrapper does, not as the pilot.
  CHECK_THAT(stored[0]["peer"]["dn"].get<std::string>(),
             Catch::StartsWith("/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner/"));
  fs::path out = p.dir.path() / "output-sandbox";
  fs::create_directories(out);
  pilot::sandbox::extract_archive(stored[0]["file"].get<std::string>(), out);
  CHECK(pilot::read_file(out / "result.txt") == "from the bz2 sandbox\nfrom the gz sandbox\n");
  // std.out as the user asked for it (plain), and the pilot's compressed copy of the log.
  CHECK(pilot::read_file(out / "std.out") == "payload ran\n");
  CHECK(fs::exists(out / "std.out.zst"));
  CHECK(fs::exists(out / "job.json"));

  std::vector<std::string> flow;
  for (const auto& st : statuses(server, 1))
    if (st != "/" && (flow.empty() || flow.back() != st)) flow.push_back(st);
  auto at = [&](const std::string& s) {
    return std::find(flow.begin(), flow.end(), s) - flow.begin();
  };
  INFO(nlohmann::json(flow).dump());
  CHECK(at("Running/Downloading InputSandbox") < at("Running/Application"));
  CHECK(at("Completing/Uploading Output Sandbox") < at("Completing/Output Sandbox Uploaded"));
  CHECK(flow.back() == "Done/Execution Complete");
  CHECK(at("Completing/Output Sandbox Uploaded") + 1 == static_cast<long>(flow.size()) - 1);
  CHECK(parameters(server, 1)["OutputSandboxMissingFiles"] == "*.root");
}

TEST_CASE(
    "agent dirac: a malicious input sandbox is refused and the job reported Failed with the "
    "reason") {
  FakeDirac server;
  Pilot p;
  fs::create_directories(p.dir.path() / "sb");
  auto evil = python_tar(p.dir.path() / "sb/evil.tar.bz2", "w:bz2",
                         "    ti = tarfile.TarInfo('esc'); ti.type = tarfile.SYMTYPE; ti.linkname "
                         "= '../../..'; tf.addfile(ti)\n" +
                             tar_member("esc/planted", "b'x'"));
  server.control(
      {{"sandboxes", {{kSbBz2, evil.string()}}},
       {"jdl",
        {{"1", "[ Executable = \"/bin/true\"; CPUTime = 600; JobID = 1; InputSandbox = \"" +
                   kSbBz2 + "\"; ]"}}}});
  auto r = run_pilot(
      p.args(server, {"--set", "services.sandbox_store=[\"" +
                                   server.diset_url("WorkloadManagement/SandboxStore") + "\"]"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(final_status(server, 1) == "Failed");
  auto flow = statuses(server, 1);
  CHECK(std::find(flow.begin(), flow.end(), "Failed/Failed Downloading InputSandbox") !=
        flow.end());
  std::string app;
  for (const auto& rec : server.calls("setJobStatusBulk"))
    if (rec["args"][0] == 1)
      for (auto& [ts, st] : rec["args"][1].items())
        if (st.value("Status", "") == "Failed") app = st.value("ApplicationStatus", "");
  CHECK_THAT(app, Catch::Contains(
                      "symbolic link target ../../.. leaves the directory"));  // no ' (JobReport)
  CHECK_FALSE(fs::exists(p.work().parent_path() / "planted"));
  CHECK_FALSE(fs::exists(p.dir.path() / "planted"));
}

TEST_CASE("agent dirac: the payload runs with its owner's proxy, never the pilot's") {
  FakeDirac server({"--jobs", "1"});  // v9 names the owner by user name, v8 by DN
  auto pki = pilot::dirac::test::pki();
  // The payload checks its credential itself: openssl verifies it, its mode, what its environment
  // holds.
  std::string script =
      "p=$X509_USER_PROXY; echo path=$p > check.txt; stat -c mode=%a $p >> check.txt; "
      "openssl verify -allow_proxy_certs -CAfile " +
      (pki / "ca.pem").string() +
      " -untrusted $p $p >> check.txt 2>&1; env | grep -e X509 -e BEARER >> check.txt; "
      "openssl x509 -in $p -noout -subject -nameopt compat >> check.txt";
  server.control({{"jdl",
                   {{"1", "[ Executable = \"/bin/sh\"; Arguments = \"-c '" + script +
                              "'\"; CPUTime = 600; JobID = 1; ]"}}}});
  Pilot p;
  auto r = run_pilot(
      p.args(server, {"--set", "processors=1"}),
      {{"X509_USER_PROXY", (pki / "proxy.pem").string()}, {"BEARER_TOKEN", "pilot-secret"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(final_status(server, 1) == "Done");
  auto check = pilot::read_file(p.work() / "job_1" / "check.txt").value_or("");
  INFO(check);
  fs::path proxy = p.work() / ".pilot-state" / "payload-proxies" / "x509up_job_1";
  CHECK(check.find("path=" + proxy.string() + "\n") != std::string::npos);
  CHECK(check.find("mode=600\n") != std::string::npos);
  CHECK(check.find(proxy.string() + ": OK") != std::string::npos);
  CHECK(check.find("X509_USER_PROXY=" + proxy.string() + "\n") != std::string::npos);
  CHECK(check.find((pki / "proxy.pem").string()) == std::string::npos);  // the pilot's own
  CHECK(check.find("pilot-secret") == std::string::npos);
  CHECK(check.find("subject=/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner/CN=") != std::string::npos);
  CHECK_FALSE(fs::exists(proxy));  // removed when the job ended
  CHECK(server.calls("getProxy").size() == 1);
}

TEST_CASE("agent dirac: a job whose owner has no stored proxy fails before it starts") {
  FakeDirac server({"--jobs", "1"});
  server.control(
      {{"jdl",
        {{"1",
          "[ Executable = \"/bin/sh\"; Arguments = \"-c 'touch ran'\"; CPUTime = 600; JobID = 1; "
          "]"}}},
       {"owners",
        {{"1", {{"DN", "/C=ch/O=DIRAC/OU=DIRAC CI/CN=nobody"}, {"Group", "testvo_user"}}}}}});
  Pilot p;
  auto r = run_pilot(p.args(server, {"--set", "processors=1"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(final_status(server, 1) == "Failed");
  auto all = statuses(server, 1);
  CHECK(std::find(all.begin(), all.end(), "Failed/Failed to setup proxy") != all.end());
  CHECK_FALSE(fs::exists(p.work() / "job_1" / "ran"));
  CHECK(r.err.find("has no proxy registered") != std::string::npos);
}

TEST_CASE(
    "agent dirac: a pilot killed while its job runs: the restarted pilot adopts the job with its "
    "owner's proxy and files it Done, once") {
  FakeDirac server({"--jobs", "1"});
  Pilot p;
  // It runs on after its pilot is gone, and needs its proxy file at its end.
  auto script = pilot::test::write_counting_script(
      p.dir.path(), "adopted", "sleep 3; test -s \"$X509_USER_PROXY\" || exit 5; echo proxy ok");
  server.control({{"jdl",
                   {{"1", "[ Executable = \"/bin/sh\"; Arguments = \"" + script.string() +
                              "\"; CPUTime = 600; JobID = 1; ]"}}}});
  auto args = p.args(server, {"--set", "processors=1"});
  auto job_dir = p.work() / "job_1";
  {
    PilotProcess first(args, p.dir.path());
    REQUIRE(wait_until([&] {
      auto rec = pilot::jobwrapper::load_job_record(job_dir);
      return rec && rec->state == pilot::jobwrapper::JobState::running;
    }));
    first.signal(SIGKILL);
    REQUIRE(first.wait(std::chrono::seconds(10)));
  }
  auto proxies = server.calls("getProxy").size();
  auto beats = server.calls("sendHeartBeat").size();
  auto r = run_pilot(args);
  INFO(r.err.substr(0, 6000));
  REQUIRE(r.exit_code == 0);
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_adopted"] == 1);
  CHECK(s["jobs_succeeded"] == 1);
  CHECK(pilot::read_file(p.dir.path() / "adopted").value_or("never") == "1\n");  // ran once
  CHECK(server.calls("getProxy").size() == proxies + 1);  // renewed for its owner
  CHECK(final_status(server, 1) == "Done");
  int finals = 0;
  for (const auto& st : statuses(server, 1)) finals += st.starts_with("Done/");
  CHECK(finals == 1);
  // Who runs it now: both pilots said so (JobWrapperPID, Pilot_Reference, PilotAgent).
  std::set<std::string> wrappers;
  for (const auto& c : server.calls("setJobParameters"))
    if (c["args"][0] == 1)
      for (const auto& kv : c["args"][1])
        if (kv[0] == "JobWrapperPID") wrappers.insert(kv[1].dump());
  CHECK(wrappers.size() == 2);
  CHECK(server.calls("sendHeartBeat").size() >= beats + 2);  // the adopting pilot's
  CHECK_FALSE(fs::exists(p.work() / ".pilot-state" / "payload-proxies" / "x509up_job_1"));
}
