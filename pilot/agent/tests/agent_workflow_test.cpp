// Workflow jobs (`dirac-jobexec`) end to end: a tree standing for CVMFS holds a DIRAC
// environment script and a dirac-jobexec that records what JobWrapper would have given it; the
// pilot finds the runtime at start-up and runs the job from the fake DIRAC server with it.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <map>

#include <nlohmann/json.hpp>

#include "agent_test_support.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "dirac/cfg.hpp"
#include "fake_server.hpp"
#include "mc/checkpoint.hpp"
#include "node_files.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

namespace {

// <dir>/cvmfs/dirac/v8.0.55: diracosrc and bin/dirac-jobexec, tests/fake_dirac/fake_jobexec.py:
// it records what JobWrapper would have given it, runs its workflow's steps and reports through
// the fake server as DIRAC's would.
struct CvmfsTree {
  explicit CvmfsTree(const fs::path& dir) : root(dir / "cvmfs/dirac/v8.0.55") {
    fs::create_directories(root / "bin");
    fs::copy_file(pilot::dirac::test::fake_jobexec(), root / "bin/dirac-jobexec");
    ::chmod((root / "bin/dirac-jobexec").c_str(), 0755);
    pilot::test::put_file(root / "diracosrc",
                          "export DIRACOS=" + root.string() +
                              "\nexport PATH=" + (root / "bin").string() +
                              ":$PATH\nexport REQUESTS_CA_BUNDLE=" + root.string() +
                              "/etc/bundle.pem\nexport DIRAC_RUNTIME_VERSION=$1\n");
  }
  std::string source() const { return (root / "diracosrc").string() + " v8.0.55"; }
  fs::path root;
};

std::string python_bytes(const std::string& text) {
  static const char* hex = "0123456789abcdef";
  std::string out = "bytes.fromhex('";
  for (unsigned char c : text) out += hex[c >> 4], out += hex[c & 15];
  return out + "')";
}

// One test's world: a tree standing for CVMFS and the fake server handing out workflow jobs as
// DIRAC's Job() API makes them: dirac-jobexec on jobDescription.xml, which comes in the job's
// input sandbox (for the stand-in, one "<executable> <arguments>" line per step).
struct WorkflowWorld {
  explicit WorkflowWorld(int jobs = 1) : server({"--jobs", std::to_string(jobs)}) {}
  pilot::TempDir dir{"agent-workflow"};
  CvmfsTree cvmfs{dir.path()};
  FakeDirac server;
  json jdls = json::object(), sandboxes = json::object();

  fs::path work() const { return dir.path() / "work"; }
  void add(int id, const std::string& steps, const std::string& extra_jdl = "") {
    auto n = std::to_string(id);
    auto ref = "SB:SandboxSE|/SandBox/o/owner.testvo_user/" + n + "/workflow.tar.bz2";
    auto tar = pilot::dirac::test::python_tar(
        dir.path() / ("sandbox-" + n + ".tar.bz2"), "w:bz2",
        pilot::dirac::test::tar_member("jobDescription.xml", python_bytes(steps)));
    jdls[n] =
        "[ Executable = \"dirac-jobexec\"; Arguments = \"jobDescription.xml -o LogLevel=INFO\";"
        " JobType = \"User\"; CPUTime = 600; JobID = " +
        n + "; StdOutput = \"std.out\"; StdError = \"std.err\"; InputSandbox = { \"" + ref +
        "\" }; " + extra_jdl + " ]";
    sandboxes[ref] = tar.string();
    server.control({{"jdl", jdls}, {"sandboxes", sandboxes}});
  }
  // `pilot run` against the server with this runtime, its SandboxStore, one processor; then
  // `extra`.
  std::vector<std::string> run_args(const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{
        "--set",
        "processors=1",
        "--set",
        "dirac_runtime.sources=[\"" + cvmfs.source() + "\"]",
        "--set",
        "services.sandbox_store=[\"" + server.diset_url("WorkloadManagement/SandboxStore") + "\"]"};
    a.insert(a.end(), extra.begin(), extra.end());
    return pilot::agent::test::dirac_run_args(server, work(), "proxy.pem", a);
  }
};

// What the server holds for `job` after the last JobStateUpdate call on it: Status,
// MinorStatus, ApplicationStatus and the history.
json job_after(const FakeDirac& s, int job) {
  json after;
  for (const auto& r : s.records())
    if (r.contains("job_after") && r.contains("args") && r["args"].is_array() &&
        !r["args"].empty() && r["args"][0] == job)
      after = r["job_after"];
  return after;
}

// The ApplicationStatus entries of the job's history with their sources, in the order logged.
std::vector<std::string> application_history(const FakeDirac& s, int job) {
  std::vector<std::string> out;
  auto after = job_after(s, job);
  for (const auto& h : after["history"])
    if (h["ApplicationStatus"] != "idem")
      out.push_back(h["Source"].get<std::string>() + ": " +
                    h["ApplicationStatus"].get<std::string>());
  return out;
}

std::map<std::string, std::string> parameters_of(const FakeDirac& s, int job) {
  std::map<std::string, std::string> out;
  for (const auto& r : s.calls("setJobParameters"))
    if (r["args"][0] == job)
      for (const auto& p : r["args"][1]) out[p[0].get<std::string>()] = p[1].get<std::string>();
  return out;
}

std::string workflow_jdl(int id) {
  return "[ Executable = \"dirac-jobexec\"; Arguments = \"jobDescription.xml -o LogLevel=INFO\";"
         " JobType = \"User\"; CPUTime = 600; JobID = " +
         std::to_string(id) + "; ]";
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::vector<std::string> out;
  auto text = pilot::read_file(file).value_or("");
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto nl = text.find('\n', pos);
    out.push_back(text.substr(pos, nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return out;
}

bool has_line(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// The last status dictionary the server stored for `job`: "Status/MinorStatus".
std::string last_status(const FakeDirac& s, int job) {
  std::string status, minor;
  for (const auto& r : s.calls("setJobStatusBulk")) {
    if (r["args"][0] != job) continue;
    std::map<std::string, json> by_time;  // the server applies them in time order
    for (const auto& [ts, st] : r["args"][1].items()) by_time[ts] = st;
    for (const auto& [ts, st] : by_time) {
      if (!st.value("Status", "").empty()) status = st.value("Status", "");
      if (!st.value("MinorStatus", "").empty()) minor = st.value("MinorStatus", "");
    }
  }
  return status + "/" + minor;
}

}  // namespace

TEST_CASE(
    "agent dirac: a workflow job runs the runtime's dirac-jobexec with JobWrapper's arguments, "
    "environment and configuration") {
  WorkflowWorld w;
  w.add(1, "echo hello\n");
  auto& server = w.server;
  auto work = w.work();
  auto r = run_pilot(
      w.run_args({"--set", "site=LCG.Test.ch", "--set", "queue=long", "--set", "ce=ce.test.ch"}),
      {{"REQUESTS_CA_BUNDLE", "/etc/pilot-bundle.pem"}, {"CURL_CA_BUNDLE", "/etc/x.pem"}});
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(last_status(server, 1) == "Done/Execution Complete");
  INFO(pilot::read_file(work / "job_1" / "jobexec-reports.txt").value_or("(no reports)"));
  CHECK(pilot::read_file(work / "job_1" / "Script1_echo.log") == "hello\n");
  auto info = lines_of(work / "job_1" / "job.info");  // JobWrapper's, for the payload
  CHECK(has_line(info, "/Job/Executable = dirac-jobexec"));
  CHECK(has_line(info, "/Job/Arguments = jobDescription.xml -o LogLevel=INFO"));
  // The workflow's own reports reached the server and the pilot's later ones left them standing.
  CHECK(application_history(server, 1) ==
        std::vector<std::string>{"Job_1: Executing RunScriptStep1", "Job_1: echo successful"});
  CHECK(job_after(server, 1)["ApplicationStatus"] == "echo successful");

  auto seen = lines_of(work / "job_1" / "jobexec-seen.txt");
  INFO(pilot::read_file(work / "job_1" / "jobexec-seen.txt").value_or("(no jobexec-seen.txt)"));
  std::vector<std::string> args;
  for (const auto& l : seen)
    if (l.starts_with("arg ")) args.push_back(l.substr(4));
  CHECK(args == std::vector<std::string>{"[jobDescription.xml]", "[-o]", "[LogLevel=INFO]", "[-o]",
                                         "[/LocalSite/CPUNormalizationFactor=10.0]", "[-o]",
                                         "[/LocalSite/Site=LCG.Test.ch]", "[-o]",
                                         "[/LocalSite/GridCE=ce.test.ch]", "[-o]",
                                         "[/LocalSite/CEQueue=long]", "[-o]",
                                         "[/LocalSite/RemoteExecution=False]"});
  CHECK(has_line(seen, "JOBID=1"));
  CHECK(has_line(seen, "DIRACJOBID=1"));
  CHECK(has_line(seen, "DIRACSITE=LCG.Test.ch"));
  CHECK(has_line(seen, "DIRACROOT=" + w.cvmfs.root.string()));
  CHECK(has_line(seen, "DIRAC_RUNTIME_VERSION=v8.0.55"));
  CHECK(has_line(seen, "DIRACSYSCONFIG=" + (work / "job_1" / "dirac.cfg").string()));
  CHECK(has_line(seen, "X509_CERT_DIR=" + (pilot::dirac::test::pki() / "certificates").string()));
  CHECK(has_line(
      seen, "X509_USER_PROXY=" + (work / ".pilot-state/payload-proxies/x509up_job_1").string()));
  for (const auto& l : seen) {
    CHECK_FALSE(l.starts_with("REQUESTS_CA_BUNDLE="));
    CHECK_FALSE(l.starts_with("CURL_CA_BUNDLE="));
  }

  auto cfg = pilot::dirac::parse_cfg(
      pilot::read_file(work / "job_1" / "jobexec-cfg.txt").value_or(""), "jobexec-cfg.txt");
  CHECK(cfg.value_at("/DIRAC/Setup") == "Test-Setup");
  CHECK(cfg.value_at("/DIRAC/VirtualOrganization") == "testvo");
  CHECK(cfg.value_at("/LocalSite/Site") == "LCG.Test.ch");
  auto instance = cfg.value_at("/DIRAC/Setups/Test-Setup/WorkloadManagement");
  REQUIRE(instance);
  CHECK(cfg.value_at("/Systems/WorkloadManagement/" + *instance + "/URLs/JobStateUpdate") ==
        server.https_url());
}

TEST_CASE(
    "agent dirac: a failed workflow is Completing with errors, then Failed, and its exit is "
    "explained") {
  WorkflowWorld w(2);
  // Later steps still run after a failed one; the last failing step's code is the exit code.
  w.add(1, "sh -c 'exit 70'\necho after\n");
  w.add(2, "/no/such/program\n");
  auto& server = w.server;
  auto work = w.work();
  auto r = run_pilot(w.run_args());
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(last_status(server, 1) == "Failed/Application Finished With Errors");
  CHECK(parameters_of(server, 1)["PayloadExitCode"] == "70");
  CHECK(parameters_of(server, 1)["ApplicationError"] ==
        "the last failing workflow step exited 70 (dirac-jobexec exit 70)");
  CHECK(pilot::read_file(work / "job_1" / "Script2_echo.log") == "after\n");
  CHECK(job_after(server, 1)["ApplicationStatus"] == "echo successful");

  CHECK(last_status(server, 2) == "Failed/Application Finished With Errors");
  CHECK(parameters_of(server, 2)["ApplicationError"] ==
        "a workflow step's executable could not be started (dirac-jobexec exit 232)");
  CHECK(job_after(server, 2)["ApplicationStatus"] == "program Exited With Status 232");
}

TEST_CASE(
    "agent dirac: an MC workflow stopped by the reclaim signal reports the step's events from its "
    "summary") {
  auto [name, stop_signal] = GENERATE(std::pair<std::string, int>{"SIGUSR1", SIGUSR1},
                                      std::pair<std::string, int>{"SIGINT", SIGINT});
  INFO("stop signal " << name);
  WorkflowWorld w;
  // The Gaudi step, finishing its event and writing its summary when the signal reaches it.
  w.add(1, std::string(TOYMC_BIN) + " --cpu-ms-per-event 5 --stop-signals INT,USR1\n",
        "CPUe = 1; MaxNumberOfEvents = 100000;");
  auto& server = w.server;
  auto work = w.work();
  pilot::test::PilotProcess pilot(
      w.run_args({"--set", "stop_signal=" + name, "--set", "grace_s=20"}), w.dir.path());
  auto checkpointed = [&] {
    try {
      auto cp = pilot::mc::read_checkpoint(work / "job_1" / "pilot-checkpoint.txt");
      return cp && cp->events >= 3;
    } catch (const pilot::Error&) {
      return false;  // being replaced
    }
  };
  REQUIRE(pilot::test::wait_until(checkpointed, std::chrono::seconds(60)));
  pilot.signal(SIGUSR1);  // the slot is reclaimed
  auto rc = pilot.wait(std::chrono::seconds(40));
  INFO(pilot.err().substr(0, 4000));
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK(last_status(server, 1) == "Done/Execution Complete");
  auto params = parameters_of(server, 1);
  REQUIRE(params.count("NumberOfEvents") == 1);
  auto events = std::stoll(params["NumberOfEvents"]);
  CHECK(events >= 3);
  CHECK(events == pilot::test::count_lines(work / "job_1" / "toymc.out"));
  CHECK(params["EventsSource"] == "summary");
  CHECK(params["Interrupted"] == "True");
  // The workflow's last word ("Executing RunScriptStep1", "KeyboardInterrupt()") is older.
  CHECK(job_after(server, 1)["ApplicationStatus"] ==
        "interrupted after " + std::to_string(events) + " events");
  auto s = pilot::test::last_json_line(pilot.out());
  CHECK(s["jobs_interrupted"] == 1);
  CHECK(s["events"] == events);
}

TEST_CASE("agent dirac: a workflow job in a container sees the runtime, its proxy and the CAs") {
  WorkflowWorld w;
  w.add(1, "echo contained\n");
  auto& server = w.server;
  auto work = w.work();
  auto args = w.run_args();
  args.insert(args.end(), {"--container", "bubblewrap"});
  auto r = run_pilot(args);
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  INFO(pilot::read_file(work / "job_1" / "jobexec-reports.txt").value_or("(no reports)"));
  CHECK(last_status(server, 1) == "Done/Execution Complete");
  CHECK(job_after(server, 1)["ApplicationStatus"] == "echo successful");
}

TEST_CASE(
    "agent dirac: without a DIRAC runtime a workflow job is handed back and the pilot stops "
    "asking") {
  pilot::TempDir dir("agent-workflow");
  FakeDirac server({"--jobs", "2"});
  server.control({{"jdl", {{"1", workflow_jdl(1)}, {"2", workflow_jdl(2)}}}});
  auto r = run_pilot(pilot::agent::test::dirac_run_args(
      server, dir.path() / "work", "proxy.pem",
      {"--set", "processors=1", "--set",
       "dirac_runtime.sources=[\"" + (dir.path() / "no/diracosrc").string() + "\"]", "--set",
       "services.job_manager=[\"" + server.diset_url("WorkloadManagement/JobManager") + "\"]"}));
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("no DIRAC runtime: jobs that need DIRAC are left"));
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_rescheduled"] == 1);
  CHECK(s["jobs_started"] == 0);
  CHECK(s["stop_reason"] ==
        "the job source hands out jobs that need DIRAC and this pilot has no DIRAC runtime");
  auto calls = server.calls("rescheduleJob");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["args"][0] == 1);
  CHECK(server.calls("requestJob").size() == 1);
}

TEST_CASE("agent: a required DIRAC runtime that cannot be found fails its start-up step") {
  pilot::agent::test::LocalQueue q("agent-workflow");
  auto hanging = q.dir.path() / "hanging-diracosrc";
  pilot::test::put_file(hanging, "sleep 30\n");
  auto r = run_pilot(
      q.run_args({"--set",
                  "dirac_runtime.sources=[\"" + (q.dir.path() / "absent").string() + " v1\", \"" +
                      hanging.string() + "\"]",
                  "--set", "dirac_runtime.required=true", "--set", "dirac_runtime.timeout_s=0.5"}));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err,
             Catch::Contains("start-up step 'DIRAC runtime' failed: no DIRAC runtime found:") &&
                 Catch::Contains((q.dir.path() / "absent").string() + " v1: no such file") &&
                 Catch::Contains(hanging.string() + ": sourcing it did not end within 0.5 s"));
}

TEST_CASE("agent: without a DIRAC runtime the local queue keeps workflow jobs for another pilot") {
  pilot::agent::test::LocalQueue q("agent-workflow");
  auto workflow = q.submit(
      "[ Executable = \"dirac-jobexec\"; Arguments = \"jobDescription.xml\"; CPUTime = 600 ]");
  auto plain = q.submit("[ Executable = \"/bin/true\"; CPUTime = 600 ]");
  auto r = run_pilot(q.run_args({"--set", "processors=1"}));
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(q.show(plain)["status"] == "Done");
  CHECK(q.show(workflow)["state"] == "pending");
}

TEST_CASE("agent: a DIRAC runtime sourced without a deadline is a configuration error") {
  pilot::agent::test::LocalQueue q("agent-workflow");
  auto r = run_pilot(q.run_args(
      {"--set", "dirac_runtime.sources=[\"/x/diracosrc\"]", "--set", "dirac_runtime.timeout_s=0"}));
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("start-up step 'DIRAC runtime' failed: configuration option "
                                    "'dirac_runtime.timeout_s' must be above 0 seconds"));
}

TEST_CASE(
    "agent: a workflow job that would miss its proxy and CAs fails before it starts, naming them") {
  pilot::agent::test::LocalQueue q("agent-workflow");
  CvmfsTree cvmfs(q.dir.path());
  // The local queue hands out no owner's proxy, and the CA directory named here does not exist.
  auto id = q.submit(
      "[ Executable = \"dirac-jobexec\"; Arguments = \"jobDescription.xml\"; CPUTime = 600 ]");
  auto r = run_pilot(q.run_args({"--set", "processors=1", "--set",
                                 "dirac_runtime.sources=[\"" + cvmfs.source() + "\"]", "--set",
                                 "cert_dir=" + (q.dir.path() / "no-cas").string()}));
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  auto st = q.show(id);
  CHECK(st["status"] == "Failed");
  CHECK(st["minor_status"] == "Job Wrapper Initialization");
  CHECK_THAT(st["application_status"].get<std::string>(),
             Catch::StartsWith("the DIRAC workflow would miss: X509_USER_PROXY is not set") &&
                 Catch::Contains("X509_CERT_DIR " + (q.dir.path() / "no-cas").string() +
                                 " is not a directory"));
  CHECK_FALSE(fs::exists(q.work() / ("job_" + id) / "jobexec-seen.txt"));  // never started
}
