// `pilot run` refusing what it must, end to end: credentials that are expired or not valid yet
// stop the start-up (exit 3, naming the step, the file and the dates); a server whose certificate
// is refused is named with the reason; job descriptions with names leaving the job directory,
// enormous values, bytes that are not UTF-8 or runaway nesting are reported Failed with the
// reason, from the fake DIRAC server and from the local queue, while good jobs still run.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "fake_server.hpp"
#include "output_files.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::dirac::test::FakeDirac;
using pilot::dirac::test::pki;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

namespace {

// One host failure is enough to stop, and any proxy lifetime left is enough: each test refuses
// something else.
std::vector<std::string> dirac_run(const FakeDirac& server, const fs::path& work,
                                   const std::string& proxy,
                                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a{"--set", "max_host_failures=1", "--set", "min_proxy_lifetime_s=0"};
  a.insert(a.end(), extra.begin(), extra.end());
  return pilot::agent::test::dirac_run_args(server, work, proxy, a);
}

// Every status dictionary (Status, MinorStatus, ApplicationStatus) the server received for `job`.
std::vector<json> statuses(const FakeDirac& s, int job) {
  std::vector<json> out;
  for (const auto& r : s.calls("setJobStatusBulk"))
    if (r["args"][0] == job)
      for (auto& [ts, st] : r["args"][1].items()) out.push_back(st);
  for (const auto& r : s.calls("setJobStatus"))
    if (r["args"][0] == job)
      out.push_back({{"Status", r["args"][1]},
                     {"MinorStatus", r["args"][2]},
                     {"ApplicationStatus", r["args"][3]}});
  return out;
}

// The bad descriptions, as JDL text (non-UTF-8 bytes written as octal escapes, which the JDL
// decodes: the server's control file is JSON and cannot carry raw bytes), and what the error says.
struct BadJob {
  std::string jdl, reason;
};
std::vector<BadJob> bad_jobs() {
  std::string nested = "JobRequirements = ";
  for (int i = 0; i < 40; ++i) nested += "[ L = ";
  nested += "1";
  for (int i = 0; i < 40; ++i) nested += " ]";
  auto job = [](const std::string& extra) {
    return "[ Executable = \"/bin/echo\"; CPUTime = 3600; " + extra + " ]";
  };
  return {
      {job("OutputSandbox = { \"std.out\", \"../../../.ssh/authorized_keys\" }"),
       "OutputSandbox entry '../../../.ssh/authorized_keys' contains a '..' component"},
      {job("Arguments = \"" + std::string((1 << 20) + 10, 'a') + "\""),
       "string longer than the limit of 1048576 bytes (in attribute 'Arguments')"},
      {job("JobName = \"caf\\351\""), "string is not valid UTF-8 (in attribute 'JobName')"},
      {job(nested), "nesting deeper than the limit of 32"},
      {job("InputSandbox = { \"data/..\" }"), "InputSandbox entry 'data/..' names no file"},
  };
}

}  // namespace

TEST_CASE(
    "pilot run refuses an expired or not yet valid proxy at start-up, naming the file and the "
    "dates") {
  FakeDirac server;
  const std::pair<std::string, std::string> cases[] = {
      {"expired_proxy.pem", "has expired: valid until 2020-01-02 00:00:00 UTC"},
      {"future_proxy.pem", "is not valid yet: valid from 2099-01-01 00:00:00 UTC"},
  };
  for (const auto& [proxy, message] : cases) {
    INFO(proxy);
    pilot::TempDir dir("agent-refusals");
    auto r = run_pilot(dirac_run(server, dir.path() / "work", proxy));
    CHECK(r.exit_code == 3);
    CHECK_THAT(r.err, Catch::Contains("pilot run: start-up step 'credentials' failed: " +
                                      (pki() / proxy).string() +
                                      ": proxy /C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot/CN=") &&
                          Catch::Contains(message));
  }
  CHECK(server.records().empty());
}

TEST_CASE("pilot run against a server whose certificate has expired stops, naming the reason") {
  FakeDirac server({"--host-cert", "expired"});
  pilot::TempDir dir("agent-refusals");
  auto r = run_pilot(dirac_run(server, dir.path() / "work", "proxy.pem"));
  CHECK(r.exit_code == 1);
  CHECK_THAT(
      r.err,
      Catch::Contains("certificate verify failed: certificate has expired (server certificate "
                      "/C=ch/O=DIRAC/CN=localhost issued by /C=ch/O=DIRAC/CN=DIRAC Test CA, valid "
                      "from 2020-01-01 00:00:00 UTC to 2020-01-02 00:00:00 UTC)"));
  auto s = pilot::test::last_json_line(r.out);
  CHECK(s["jobs_started"] == 0);
  CHECK(s["stop_reason"] == "the job source could not be reached");
}

TEST_CASE("bad job descriptions from the DIRAC server are reported Failed with the reason") {
  auto bad = bad_jobs();
  FakeDirac server({"--jobs", std::to_string(bad.size() + 1)});
  json jdl;
  for (std::size_t i = 0; i < bad.size(); ++i) jdl[std::to_string(i + 1)] = bad[i].jdl;
  server.control({{"jdl", jdl}});
  pilot::TempDir dir("agent-refusals");
  auto r = run_pilot(dirac_run(server, dir.path() / "work", "proxy.pem"));
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  auto summary = pilot::test::last_json_line(r.out);
  CHECK(summary["jobs_failed"] == static_cast<int>(bad.size()));
  for (std::size_t i = 0; i < bad.size(); ++i) {
    int id = static_cast<int>(i + 1);
    INFO("job " << id << ": " << bad[i].reason);
    bool found = false;
    for (const auto& st : statuses(server, id))
      if (st.value("Status", "") == "Failed" &&
          st.value("MinorStatus", "") == "Job description invalid") {
        found = true;
        // DIRAC's JobReport strips every ' from a status: so does the pilot.
        auto reason = bad[i].reason.substr(0, 60);
        std::erase(reason, '\'');
        CHECK_THAT(st.value("ApplicationStatus", ""),
                   Catch::StartsWith("job " + std::to_string(id)) && Catch::Contains(reason));
      }
    CHECK(found);
  }
  // The good job after them ran as usual.
  bool done = false;
  for (const auto& st : statuses(server, static_cast<int>(bad.size() + 1)))
    done = done || st.value("Status", "") == "Done";
  CHECK(done);
}

TEST_CASE(
    "bad job descriptions in the local queue are filed Failed with the reason, good jobs run") {
  pilot::agent::test::LocalQueue q("agent-refusals");
  auto queue = q.queue();
  auto bad = bad_jobs();
  bad.push_back({"[ Executable = \"/bin/echo\"; JobName = \"raw \xff\xfe bytes\" ]",
                 "string is not valid UTF-8 (in attribute 'JobName')"});
  std::vector<std::string> ids;
  for (std::size_t i = 0; i <= bad.size(); ++i)
    ids.push_back(q.submit("[ Executable = \"/bin/echo\"; Arguments = \"ok\"; CPUTime = 3600 ]"));
  // Replaced behind `pilot queue submit`'s back, as a broken or hostile writer of the queue would.
  for (std::size_t i = 0; i < bad.size(); ++i)
    pilot::write_file_atomic(queue / "pending" / ids[i] / "job.jdl", bad[i].jdl);
  auto r = run_pilot(q.run_args());
  INFO(r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  for (std::size_t i = 0; i <= bad.size(); ++i) {
    auto st = q.show(ids[i]);
    if (i == bad.size()) {
      CHECK(st["status"] == "Done");
      continue;
    }
    INFO(bad[i].reason);
    CHECK(st["status"] == "Failed");
    CHECK(st["minor_status"] == "Job description invalid");
    CHECK_THAT(st["application_status"].get<std::string>(),
               Catch::StartsWith("job " + ids[i]) && Catch::Contains(bad[i].reason.substr(0, 60)));
  }
}
