// `pilot features` end to end: the JSON and text reports, MJF over HTTP, configuration as the
// last source, and the locations it refuses.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "http_server.hpp"
#include "node_files.hpp"
#include "run_pilot.hpp"

using pilot::test::put_file;
using pilot::test::put_files;
using pilot::test::run_pilot;

namespace {

nlohmann::json features_json(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> all{"features", "--json"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = run_pilot(all, env);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST_CASE("pilot features --json: every spec key, null when absent, and the budget") {
  pilot::TempDir tmp("mjf-cli");
  put_files(tmp.path() / "m", {{"hs06", "160\n"},
                               {"total_cpu", "16\n"},
                               {"shutdowntime", "1700005000"},
                               {"jobslots", "garbage"}});
  put_files(tmp.path() / "j", {{"allocated_cpu", "4"},
                               {"hs06_job", "50"},
                               {"jobstart_secs", "1700000000"},
                               {"wall_limit_secs", "3600"},
                               {"max_rss_bytes", "8000000000"},
                               {"job_id", "vac:17"},
                               {"cpu_limit_secs", "14400"}});
  auto j = features_json({"--now", "1700001000", "--machine-features", (tmp.path() / "m").string(),
                          "--job-features", (tmp.path() / "j").string(), "--root",
                          (tmp.path() / "root").string()});
  for (auto key :
       {"total_cpu", "hs06", "shutdowntime", "grace_secs", "jobslots", "log_cores", "phys_cores"})
    CHECK(j["machine"].contains(key));
  for (auto key : {"allocated_cpu", "hs06_job", "shutdowntime_job", "grace_secs_job",
                   "jobstart_secs", "job_id", "wall_limit_secs", "cpu_limit_secs", "max_rss_bytes",
                   "max_swap_bytes", "scratch_limit_bytes", "cpufactor_lrms", "cpu_limit_secs_lrms",
                   "wall_limit_secs_lrms", "disk_limit_GB", "mem_limit_MB", "allocated_CPU"})
    CHECK(j["job"].contains(key));
  CHECK(j["machine"]["total_cpu"] == 16);
  CHECK(j["machine"]["hs06"] == 160.0);
  CHECK(j["machine"]["jobslots"].is_null());
  CHECK(j["machine"]["grace_secs"].is_null());
  CHECK(j["job"]["job_id"] == "vac:17");
  CHECK(j["now"] == 1700001000);
  CHECK(j["wall_seconds_left"] == 2600);
  CHECK(j["limited_by"] == "wall_limit");
  CHECK(j["cpu_power_hs06"] == 12.5);
  CHECK(j["cpu_power_source"] == "mjf_job");
  CHECK(j["processors"] == 4);
  CHECK(j["memory_limit_bytes"] == 8000000000LL);
  CHECK(j["cpu_seconds_left"] == 14400);
  CHECK(j["cpu_work_left_hs06s"] == 2600 * 12.5);
  CHECK(j["shutdowns_announced"] == nlohmann::json::array({"shutdowntime"}));
  CHECK(j["draining"] == false);                                         // no drain file
  CHECK(j["drain_reasons"] == nlohmann::json::array({"shutdowntime"}));  // the old meaning
  CHECK(j["batch_system"].contains("name"));
  CHECK(j["batch_system"].contains("job_id"));

  // Later, past the wall limit: negative, not clamped.
  j = features_json({"--now", "1700006000", "--machine-features", (tmp.path() / "m").string(),
                     "--job-features", (tmp.path() / "j").string(), "--root",
                     (tmp.path() / "root").string()});
  CHECK(j["wall_seconds_left"] == -2400);
  CHECK(j["limited_by"] == "wall_limit");
  CHECK(j["cpu_work_left_hs06s"] == 0.0);
}

TEST_CASE("pilot features reads MJF over HTTP from the environment and reports the batch job") {
  pilot::test::HttpServer server;
  server.set("/machine/hs06", {200, "100"});
  server.set("/machine/total_cpu", {200, "10"});
  server.set("/machine/shutdowntime", {500, "1700001100"});
  server.set("/job/shutdowntime_job", {200, "1700001300\n"});
  pilot::TempDir root("mjf-cli");
  put_file(root.path() / "var/lib/dirac_drain", "");
  auto j = features_json({"--now", "1700001000", "--root", root.path().string()},
                         {{"MACHINEFEATURES", server.url("/machine")},
                          {"JOBFEATURES", server.url("/job")},
                          {"SLURM_JOB_ID", "4242"},
                          {"SLURM_JOB_END_TIME", "1700001200"},
                          {"SLURM_CPUS_ON_NODE", "3"}});
  CHECK(j["sources"]["machine"] == server.url("/machine"));
  CHECK(j["machine"]["hs06"] == 100.0);
  CHECK(j["machine"]["shutdowntime"].is_null());
  CHECK(j["job"]["shutdowntime_job"] == 1700001300);
  CHECK(j["batch_system"]["name"] == "slurm");
  CHECK(j["batch_system"]["job_id"] == "4242");
  CHECK(j["wall_seconds_left"] == 200);
  CHECK(j["limited_by"] == "batch");
  CHECK(j["processors"] == 3);
  CHECK(j["processors_source"] == "SLURM_CPUS_ON_NODE");
  CHECK(j["cpu_power_hs06"] == 10.0);
  CHECK(j["cpu_power_source"] == "mjf_machine");
  CHECK(j["drain_file"] == true);
  CHECK(j["draining"] == true);
  CHECK(j["shutdowns_announced"] == nlohmann::json::array({"shutdowntime_job"}));
  CHECK(j["drain_reasons"] == nlohmann::json::array({"shutdowntime_job", "drain_file"}));
}

TEST_CASE("pilot features: configuration is the last source") {
  pilot::TempDir root("mjf-cli");
  auto j =
      features_json({"--now", "1700000000", "--root", root.path().string(), "--machine-features",
                     "", "--job-features", "", "--cpu-power", "12.5", "--processors", "2",
                     "--wall-limit", "3600", "--memory-limit", "2000000000"},
                    {{"SLURM_JOB_ID", ""}, {"_CONDOR_JOB_AD", ""}});
  CHECK(j["machine"]["hs06"].is_null());
  CHECK(j["wall_seconds_left"] == 3600);
  CHECK(j["limited_by"] == "config");
  CHECK(j["cpu_power_hs06"] == 12.5);
  CHECK(j["cpu_power_source"] == "config");
  CHECK(j["processors"] == 2);
  CHECK(j["memory_limit_bytes"] == 2000000000LL);
  CHECK(j["cpu_work_left_hs06s"] == 45000.0);
  CHECK(j["draining"] == false);
  CHECK(j["batch_system"]["name"].is_null());
}

TEST_CASE("pilot features: text output, and bad locations are usage errors") {
  pilot::TempDir tmp("mjf-cli");
  put_files(tmp.path() / "j", {{"shutdowntime_job", "1700000600"}, {"allocated_cpu", "2"}});
  auto r =
      run_pilot({"features", "--now", "1700000000", "--job-features", (tmp.path() / "j").string(),
                 "--machine-features", "", "--root", tmp.path().string()});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("wall seconds left   600 (limited by shutdowntime_job"));
  CHECK_THAT(r.out, Catch::Contains("processors          2 (allocated_cpu)"));
  CHECK_THAT(r.out, Catch::Contains("shutdowns announced shutdowntime_job"));
  CHECK_THAT(r.out, Catch::Contains("draining            no"));

  r = run_pilot({"features", "--machine-features", "relative/dir"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("relative/dir"));
  r = run_pilot({"features", "--job-features", "file:///etc/jobfeatures"});
  CHECK(r.exit_code == 2);
  r = run_pilot({"features", "--now", "soon"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("pilot features: a relative or file:// MJF variable is ignored with a warning") {
  pilot::TempDir root("mjf-cli");
  auto r = run_pilot(
      {"features", "--json", "--now", "1700000000", "--root", root.path().string()},
      {{"MACHINEFEATURES", "machinefeatures"}, {"JOBFEATURES", "file:///etc/jobfeatures"}});
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["sources"]["machine"].is_null());
  CHECK(j["sources"]["job"].is_null());
  CHECK_THAT(r.err, Catch::Contains("MACHINEFEATURES"));
  CHECK_THAT(r.err, Catch::Contains("JOBFEATURES"));
}
