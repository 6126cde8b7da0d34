// Workflow jobs (`dirac-jobexec`) end to end: a tree standing for CVMFS holds a DIRAC
// environment script and a dirac-jobexec that records what JobWrapper would have given it; the
// pilot finds the runtime at start-up and runs the job from the fake DIRAC server with it.
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "dirac/cfg.hpp"
#include "fake_server.hpp"
#include "node_files.hpp"
#include "output_files.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

namespace {

// <dir>/cvmfs/dirac/v8.0.55: diracosrc and bin/dirac-jobexec, which writes its arguments, its
// environment and its configuration into the job directory and exits with $FAKE_JOBEXEC_EXIT.
struct CvmfsTree {
  explicit CvmfsTree(const fs::path& dir) : root(dir / "cvmfs/dirac/v8.0.55") {
    pilot::test::put_file(root / "bin/dirac-jobexec",
                          "#!/bin/sh\n"
                          "{ for a in \"$@\"; do echo \"arg [$a]\"; done; env | sort; } > "
                          "jobexec-seen.txt\n"
                          "cp \"$DIRACSYSCONFIG\" jobexec-cfg.txt\n"
                          "exit ${FAKE_JOBEXEC_EXIT:-0}\n");
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
  pilot::TempDir dir("agent-workflow");
  CvmfsTree cvmfs(dir.path());
  FakeDirac server({"--jobs", "1"});
  server.control({{"jdl", {{"1", workflow_jdl(1)}}}});
  auto work = dir.path() / "work";
  auto r = run_pilot(
      pilot::agent::test::dirac_run_args(
          server, work, "proxy.pem",
          {"--set", "processors=1", "--set", "dirac_runtime.sources=[\"" + cvmfs.source() + "\"]",
           "--set", "site=LCG.Test.ch", "--set", "queue=long", "--set", "ce=ce.test.ch"}),
      {{"REQUESTS_CA_BUNDLE", "/etc/pilot-bundle.pem"}, {"CURL_CA_BUNDLE", "/etc/x.pem"}});
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(last_status(server, 1) == "Done/Execution Complete");

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
  CHECK(has_line(seen, "DIRACROOT=" + cvmfs.root.string()));
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
    "agent dirac: a workflow job that exits non-zero is Completing with errors, then Failed") {
  pilot::TempDir dir("agent-workflow");
  CvmfsTree cvmfs(dir.path());
  FakeDirac server({"--jobs", "1"});
  server.control({{"jdl", {{"1", workflow_jdl(1)}}}});
  auto r = run_pilot(
      pilot::agent::test::dirac_run_args(
          server, dir.path() / "work", "proxy.pem",
          {"--set", "processors=1", "--set", "dirac_runtime.sources=[\"" + cvmfs.source() + "\"]"}),
      {{"FAKE_JOBEXEC_EXIT", "2"}});
  INFO(r.err.substr(0, 3000));
  REQUIRE(r.exit_code == 0);
  CHECK(last_status(server, 1) == "Failed/Application Finished With Errors");
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
