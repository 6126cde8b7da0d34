// The DIRAC job source end to end against the fake server: a match with the resource description
// on the wire, reports that survive an outage and a pilot restart, Kill from a heartbeat, and the
// credential's lifetime guarding the offer.

#include <catch2/catch.hpp>
#include <set>

#include "dirac/codec.hpp"
#include "dirac/dirac_job_source.hpp"
#include "fake_server.hpp"

using namespace pilot::dirac;
using pilot::dirac::test::FakeDirac;

namespace {

DiracConfig config(const FakeDirac& s, const std::filesystem::path& state,
                   Credentials c = test::proxy_credentials()) {
  DiracConfig cfg;
  cfg.matcher_urls = {s.diset_url()};
  cfg.job_state_urls = {s.https_url()};
  cfg.rpc.credentials = std::move(c);
  cfg.rpc.setup = "Test-Setup";
  cfg.rpc.vo = "testvo";
  cfg.rpc.timeout = std::chrono::milliseconds(3000);
  cfg.state_dir = state;
  cfg.release_version = "v8.0.55";
  cfg.release_project = "LHCb";
  cfg.min_proxy_lifetime = std::chrono::seconds(600);
  return cfg;
}

pilot::jobs::ResourceRequest offer() {
  pilot::jobs::ResourceRequest r;
  r.site = "DIRAC.Test.ch";
  r.grid_ce = "ce.test.ch";
  r.ce_queue = "long";
  r.platform = "x86_64-el9";
  r.cpu_work_left_hs06s = 86400;
  r.processors = 4;
  r.max_ram_mb = 8000;
  r.tags = {"GPU"};
  r.pilot_reference = "slurm://test/1234";
  r.pilot_benchmark = 0;
  r.extra = {{"GridMiddleware", "Slurm"}};
  return r;
}

}  // namespace

TEST_CASE("Job source: match with the full resource description, exact types on the wire") {
  FakeDirac server({"--pilot-version", "v8.0.55"});
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path()), {});
  auto job = source.request_job(offer());
  REQUIRE(job);
  CHECK(job->id == "1");
  CHECK(job->jdl.find("JobName = \"interop-test\";") != std::string::npos);
  CHECK(job->attributes["Group"] == "testvo_user");
  CHECK_FALSE(job->attributes.contains("JDL"));
  auto calls = server.calls("requestJob");
  REQUIRE(calls.size() == 1);
  INFO(calls[0]["raw_arguments"].get<std::string>());
  CHECK(calls[0]["raw_arguments"].get<std::string>().find(
            "s4:Sites13:DIRAC.Test.chs7:CPUTimei86400es6:GridCEs10:ce.test.chs7:CEQueues4:longs8:"
            "Platforms10:x86_64-el9"
            "s18:NumberOfProcessorsi4es6:MaxRAMi8000es3:Tagls3:GPUes14:PilotReferences17:slurm://"
            "test/1234"
            "s21:PilotInfoReportedFlagb0s14:GridMiddlewares5:Slurms14:ReleaseProjects4:LHCb"
            "s14:ReleaseVersions7:v8.0.55s19:VirtualOrganizations6:testvoeee") !=
        std::string::npos);
  CHECK_FALSE(source.request_job(offer()));  // 1510: nothing left
  // The Matcher said the pilot info was reported: the next request says so too.
  CHECK(server.calls("requestJob").back()["args"][0]["PilotInfoReportedFlag"] == true);
}

TEST_CASE("Job source: a version mismatch surfaces as the source refusing this pilot") {
  FakeDirac server({"--pilot-version", "v9.9.9"});
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path()), {});
  CHECK_THROWS_AS(source.request_job(offer()), pilot::jobs::SourceRefusesPilot);
}

TEST_CASE(
    "Job source: a rescheduled job is handed to the JobManager after its statuses, through an "
    "outage") {
  FakeDirac server;
  pilot::TempDir state, jobdir;
  auto cfg = config(server, state.path());
  {
    // The JobManager does not answer (nothing listens there): everything else is delivered.
    cfg.job_manager_urls = {"dips://127.0.0.1:1/WorkloadManagement/JobManager"};
    DiracJobSource source(cfg, {});
    REQUIRE(source.request_job(offer()));
    pilot::jobs::FinishedJob done{jobdir.path(), nlohmann::json::object(), std::nullopt,
                                  pilot::jobs::StatusUpdate{"Rescheduled", "JobWrapper execution",
                                                            "Failed JobWrapper execution"}};
    source.finish_job("1", done);
    CHECK(server.calls("setJobStatusBulk").size() == 1);
    CHECK(server.calls("rescheduleJob").empty());
    CHECK(source.pending_reports() == 1);
  }  // the pilot ends with the reschedule undelivered
  cfg.job_manager_urls = {server.diset_url("WorkloadManagement/JobManager")};
  DiracJobSource restarted(cfg, {});
  CHECK(restarted.pending_reports() == 1);
  CHECK(restarted.flush());
  auto calls = server.calls("rescheduleJob");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0]["args"] == nlohmann::json::array({1}));
  CHECK(calls[0]["reply"]["OK"] == true);
  CHECK(server.calls("setJobStatusBulk").size() == 1);  // statuses were not sent twice
  // The job is Waiting again: the next request matches it.
  auto again = restarted.request_job(offer());
  REQUIRE(again);
  CHECK(again->id == "1");
}

TEST_CASE("Job source: the JobManager sits beside the Matcher unless configured") {
  CHECK(default_job_manager_url("dips://wms.example.org:9170/WorkloadManagement/Matcher") ==
        "dips://wms.example.org:9132/WorkloadManagement/JobManager");
  CHECK(default_job_manager_url("https://[::1]:8443/WorkloadManagement/TornadoMatcher") ==
        "https://[::1]:8443/WorkloadManagement/TornadoJobManager");
}

TEST_CASE("Job source: status changes survive a server outage and a pilot restart") {
  FakeDirac server;
  pilot::TempDir state;
  using clock = std::chrono::system_clock;
  auto t0 = clock::now();
  {
    DiracJobSource source(config(server, state.path()), {});
    REQUIRE(source.request_job(offer()));
    server.control({{"down", true}});
    source.set_status("1", {"Running", "Job Initialization", "", t0, "JobWrapper"});
    source.set_status("1",
                      {"Running", "Application", "", t0 + std::chrono::seconds(1), "JobWrapper"});
    source.set_parameters("1", {{"LocalBatchID", "1234"}});
    CHECK(source.pending_reports() == 3);
    CHECK_FALSE(source.flush());
    CHECK(server.calls("setJobStatusBulk").empty());
  }  // the pilot dies with its reports undelivered
  REQUIRE(std::filesystem::exists(state.path() / "dirac-reports.json"));
  server.control(nlohmann::json::object());
  DiracJobSource restarted(config(server, state.path()), {});
  CHECK(restarted.pending_reports() == 3);
  CHECK(restarted.flush());
  CHECK(restarted.pending_reports() == 0);
  auto bulk = server.calls("setJobStatusBulk");
  REQUIRE(bulk.size() == 1);
  const auto& statuses = bulk[0]["args"][1];
  REQUIRE(statuses.size() == 2);
  auto ms = [](clock::time_point t) {
    return format_datetime(utc_datetime(std::chrono::floor<std::chrono::milliseconds>(t)), true);
  };
  CHECK(statuses.contains(ms(t0)));  // sent to the millisecond, as the server keeps them
  CHECK(statuses[ms(t0 + std::chrono::seconds(1))]["MinorStatus"] == "Application");
  CHECK(bulk[0]["args"][0] == 1);  // an int, not "1"
  auto params = server.calls("setJobParameters");
  REQUIRE(params.size() == 1);
  CHECK(params[0]["args"][1] == nlohmann::json::parse(R"([["LocalBatchID", "1234"]])"));
  // Statuses the server refuses for good (unknown job) are not retried forever, but kept in the
  // report file with the server's answer, and counted.
  restarted.set_status("77", {"Running", "x", "", clock::now(), "JobWrapper"});
  CHECK(restarted.pending_reports() == 0);
  CHECK(restarted.refused_reports() == 1);
  auto kept = nlohmann::json::parse(*pilot::read_file(state.path() / "dirac-reports.json"));
  REQUIRE(kept["refused"].size() == 1);
  CHECK(kept["refused"][0]["job"] == 77);
  CHECK(kept["refused"][0]["statuses"][0]["MinorStatus"] == "x");
  CHECK_THAT(kept["refused"][0]["error"].get<std::string>(), Catch::Contains("No Matching Job"));
  DiracJobSource again(config(server, state.path()), {});
  CHECK(again.refused_reports() == 1);  // kept across pilots
}

TEST_CASE("Job source: no ' reaches the server in a status, as DIRAC's JobReport strips them") {
  FakeDirac server;
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path()), {});
  REQUIRE(source.request_job(offer()));
  source.set_status(
      "1", {"Completing", "Application Finished With Errors", "Can't open 'file'", {}, "Job_1"});
  auto bulk = server.calls("setJobStatusBulk");
  REQUIRE(bulk.size() == 1);
  CHECK(bulk[0]["reply"]["OK"] == true);  // the fake, like v8, fails a ' with MySQL 1064
  CHECK_FALSE(bulk[0].contains("sql_error"));
  auto entry = bulk[0]["args"][1].begin().value();
  CHECK(entry["ApplicationStatus"] == "Cant open file");
  CHECK(source.refused_reports() == 0);
}

TEST_CASE(
    "Job source: statuses made in the same millisecond reach the server in distinct, increasing "
    "milliseconds") {
  using namespace std::chrono;
  auto t = sys_time<milliseconds>(milliseconds(1'764'669'600'123));
  CHECK(next_status_time(std::nullopt, t + microseconds(700)) == t);
  CHECK(next_status_time(t, t + microseconds(700)) == t + milliseconds(1));
  CHECK(next_status_time(t + milliseconds(5), t) == t + milliseconds(6));  // clock stepped back
  CHECK(next_status_time(t, t + milliseconds(3)) == t + milliseconds(3));

  FakeDirac server;
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path()), {});
  REQUIRE(source.request_job(offer()));
  server.control({{"down", true}});  // buffered, then sent in one bulk
  auto now = system_clock::now();
  for (const char* minor : {"Job Initialization", "Downloading InputSandbox", "Application"})
    source.set_status("1", {"Running", minor, "", now, "JobWrapper"});
  server.control(nlohmann::json::object());
  REQUIRE(source.flush());
  auto bulk = server.calls("setJobStatusBulk");
  REQUIRE_FALSE(bulk.empty());
  std::vector<std::string> times;
  for (auto& [ts, st] : bulk.back()["args"][1].items()) times.push_back(ts);
  REQUIRE(times.size() == 3);
  std::set<std::string> ms;
  for (const auto& ts : times) ms.insert(ts.substr(0, 23));  // "YYYY-mm-dd HH:MM:SS.mmm"
  CHECK(ms.size() == 3);
  CHECK(bulk.back()["args"][1][times[2]]["MinorStatus"] == "Application");
}

TEST_CASE("Job source: heartbeat returns the server's Kill command") {
  FakeDirac server;
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path()), {});
  nlohmann::json dyn = {{"CPUConsumed", 12},
                        {"WallClockTime", 30.5},
                        {"MemoryUsed", 200},
                        {"StandardOutput", "last line"}};
  CHECK(source.heartbeat("1", dyn).empty());
  server.control({{"kill", {1}}});
  auto cmds = source.heartbeat("1", dyn);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0].name == "Kill");
  auto hb = server.calls("sendHeartBeat");
  REQUIRE(hb.size() == 2);
  CHECK(
      hb[0]["args"] ==
      nlohmann::json::parse(
          R"([1, {"CPUConsumed": 12.0, "WallClockTime": 30.5, "MemoryUsed": 200.0}, {"StandardOutput": "last line"}])"));
}

TEST_CASE("Job source: an expired proxy is refused before any call") {
  FakeDirac server;
  pilot::TempDir state;
  DiracJobSource source(config(server, state.path(), test::proxy_credentials("expired_proxy.pem")),
                        {});
  CHECK_THROWS_WITH(source.request_job(offer()), Catch::Contains("has expired"));
  CHECK(server.records().empty());
  // A proxy valid for a day but an offer of 30 days of work at 10 HS06: the offer is shortened.
  DiracJobSource ok(config(server, state.path()), {});
  auto r = offer();
  r.pilot_benchmark = 10;
  r.processors = 1;
  r.cpu_work_left_hs06s = 30 * 86400 * 10;
  REQUIRE(ok.request_job(r));
  auto cpu = server.calls("requestJob").at(0)["args"][0]["CPUTime"].get<std::int64_t>();
  CHECK(cpu < 86400 * 10);
  CHECK(cpu > 80000 * 10);
  CHECK(server.calls("requestJob").at(0)["args"][0]["PilotBenchmark"] == 10.0);
}
