#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "http_server.hpp"
#include "mjf/features.hpp"
#include "mjf/observe.hpp"
#include "mjf_test_support.hpp"

using namespace std::chrono_literals;
using pilot::mjf::Features;
using pilot::mjf::FeatureSources;
using pilot::mjf::Location;
using pilot::mjf::parse_location;
using pilot::test::HttpServer;
using pilot::test::Reply;

namespace {

FeatureSources dirs(const std::filesystem::path& machine, const std::filesystem::path& job) {
  FeatureSources s;
  s.machine = parse_location(machine.string());
  s.job = parse_location(job.string());
  return s;
}

const std::map<std::string, std::string> kAllMachine = {
    {"total_cpu", "8\n"},    {"hs06", "123.5\n"}, {"shutdowntime", "1700007200\n"},
    {"grace_secs", "300\n"}, {"jobslots", "4\n"}, {"log_cores", "16\n"},
    {"phys_cores", "8\n"}};
const std::map<std::string, std::string> kAllJob = {{"allocated_cpu", "4\n"},
                                                    {"hs06_job", "61.75\n"},
                                                    {"shutdowntime_job", "1700003600\n"},
                                                    {"grace_secs_job", "120\n"},
                                                    {"jobstart_secs", "1700000000\n"},
                                                    {"job_id", "vac.example.org:1234\n"},
                                                    {"wall_limit_secs", "172800\n"},
                                                    {"cpu_limit_secs", "691200\n"},
                                                    {"max_rss_bytes", "8589934592\n"},
                                                    {"max_swap_bytes", "4294967296\n"},
                                                    {"scratch_limit_bytes", "21474836480\n"},
                                                    {"cpufactor_lrms", "2.5\n"},
                                                    {"cpu_limit_secs_lrms", "3600\n"},
                                                    {"wall_limit_secs_lrms", "7200\n"},
                                                    {"disk_limit_GB", "20\n"},
                                                    {"mem_limit_MB", "2048\n"},
                                                    {"allocated_CPU", "4\n"}};

}  // namespace

TEST_CASE("every 2016 and legacy key is read from directories with its type") {
  pilot::TempDir tmp("mjf");
  mjf_test::put_files(tmp.path() / "m", kAllMachine);
  mjf_test::put_files(tmp.path() / "j", kAllJob);
  mjf_test::put_file(tmp.path() / "j/some_future_key", "whatever\n");  // unknown keys are ignored
  auto f = pilot::mjf::read_features(dirs(tmp.path() / "m", tmp.path() / "j"), {});
  const auto& m = f.machine;
  CHECK(m.total_cpu == 8);
  CHECK(m.hs06 == Approx(123.5));
  CHECK(m.shutdowntime == 1700007200);
  CHECK(m.grace_secs == 300);
  CHECK(m.jobslots == 4);
  CHECK(m.log_cores == 16);
  CHECK(m.phys_cores == 8);
  const auto& j = f.job;
  CHECK(j.allocated_cpu == 4);
  CHECK(j.hs06_job == Approx(61.75));
  CHECK(j.shutdowntime_job == 1700003600);
  CHECK(j.grace_secs_job == 120);
  CHECK(j.jobstart_secs == 1700000000);
  CHECK(j.job_id == "vac.example.org:1234");
  CHECK(j.wall_limit_secs == 172800);
  CHECK(j.cpu_limit_secs == 691200);
  CHECK(j.max_rss_bytes == 8589934592LL);
  CHECK(j.max_swap_bytes == 4294967296LL);
  CHECK(j.scratch_limit_bytes == 21474836480LL);
  CHECK(j.cpufactor_lrms == Approx(2.5));
  CHECK(j.cpu_limit_secs_lrms == 3600);
  CHECK(j.wall_limit_secs_lrms == 7200);
  CHECK(j.disk_limit_GB == 20);
  CHECK(j.mem_limit_MB == 2048);
  CHECK(j.allocated_CPU == 4);
}

TEST_CASE(
    "each key follows the value rules: whitespace, empty, garbage, floats, multi-line, negative") {
  pilot::TempDir tmp("mjf");
  mjf_test::put_files(tmp.path() / "m", {{"total_cpu", " \t8\r\n"},            // stripped
                                         {"hs06", "\n"},                       // empty: absent
                                         {"shutdowntime", "1398790803.78\n"},  // float: absent
                                         {"grace_secs", "12abc"},              // garbage: absent
                                         {"jobslots", "4\n5\n"},               // multi-line: absent
                                         {"log_cores", "-2"},  // negative integer is an integer
                                         {"phys_cores", "<html>404</html>"}});
  mjf_test::put_files(tmp.path() / "j", {{"allocated_cpu", "4.0"},
                                         {"hs06_job", "ten"},
                                         {"shutdowntime_job", "-5"},
                                         {"job_id", "  job 42 \n"},
                                         {"wall_limit_secs", ""},
                                         {"cpu_limit_secs", "+3600"},
                                         {"max_rss_bytes", "2GB"},
                                         {"mem_limit_MB", "1e3"}});
  auto f = pilot::mjf::read_features(dirs(tmp.path() / "m", tmp.path() / "j"), {});
  CHECK(f.machine.total_cpu == 8);
  CHECK_FALSE(f.machine.hs06);
  CHECK_FALSE(f.machine.shutdowntime);
  CHECK_FALSE(f.machine.grace_secs);
  CHECK_FALSE(f.machine.jobslots);
  CHECK(f.machine.log_cores == -2);
  CHECK_FALSE(f.machine.phys_cores);
  CHECK_FALSE(f.job.allocated_cpu);
  CHECK_FALSE(f.job.hs06_job);
  CHECK(f.job.shutdowntime_job == -5);
  CHECK(f.job.job_id == "job 42");
  CHECK_FALSE(f.job.wall_limit_secs);
  CHECK(f.job.cpu_limit_secs == 3600);
  CHECK_FALSE(f.job.max_rss_bytes);
  CHECK_FALSE(f.job.mem_limit_MB);
}

TEST_CASE("a nonexistent directory and unreadable entries give absent keys") {
  pilot::TempDir tmp("mjf");
  std::filesystem::create_directories(tmp.path() / "j/hs06_job");  // a directory, not a value
  auto f = pilot::mjf::read_features(dirs(tmp.path() / "does-not-exist", tmp.path() / "j"), {});
  CHECK_FALSE(f.machine.total_cpu);
  CHECK_FALSE(f.machine.hs06);
  CHECK_FALSE(f.job.hs06_job);
}

TEST_CASE("only absolute directories and http(s) URLs are locations") {
  CHECK(parse_location("/etc/machinefeatures")->kind == Location::Kind::directory);
  CHECK(parse_location("/etc/machinefeatures/")->base == "/etc/machinefeatures");
  CHECK(parse_location("/")->base == "/");
  CHECK(parse_location("http://mjf.example/machine/")->base == "http://mjf.example/machine");
  CHECK(parse_location("https://mjf.example/j")->kind == Location::Kind::url);
  CHECK_FALSE(parse_location(""));
  CHECK_FALSE(parse_location("machinefeatures"));
  CHECK_FALSE(parse_location("./machinefeatures"));
  CHECK_FALSE(parse_location("file:///etc/machinefeatures"));
  CHECK_FALSE(parse_location("ftp://mjf.example/m"));
  CHECK_FALSE(parse_location("http://"));
}

TEST_CASE("MACHINEFEATURES and JOBFEATURES: unset, empty, relative and file:// are absent") {
  pilot::mjf::Environment env{{"MACHINEFEATURES", "relative/dir"},
                              {"JOBFEATURES", "file:///tmp/j"}};
  auto s = pilot::mjf::sources_from_environment(env, {});
  CHECK_FALSE(s.machine);
  CHECK_FALSE(s.job);
  s = pilot::mjf::sources_from_environment({}, {});
  CHECK_FALSE(s.machine);
  CHECK_FALSE(s.job);
  s = pilot::mjf::sources_from_environment(
      {{"MACHINEFEATURES", ""}, {"JOBFEATURES", "/nonexistent/j"}}, {});
  CHECK_FALSE(s.machine);
  REQUIRE(s.job);
  CHECK(s.job->base == "/nonexistent/j");
  CHECK_FALSE(pilot::mjf::read_features(s, {}).job.allocated_cpu);
}

TEST_CASE("over HTTP only a 2xx body is a value - 404, 500 and garbage are absent") {
  HttpServer server;
  server.set("/m/total_cpu", {200, "16\n"});
  server.set("/m/hs06", {500, "<html>Internal Server Error</html>"});
  server.set("/m/shutdowntime", {200, "1700007200.5"});
  server.set("/m/grace_secs", {204, ""});
  server.set("/j/job_id", {200, "  42 \r\n"});
  server.set("/j/allocated_cpu", {403, "8"});
  FeatureSources s;
  s.machine = parse_location(server.url("/m"));
  s.job = parse_location(server.url("/j/"));
  auto f = pilot::mjf::read_features(s, {});
  CHECK(f.machine.total_cpu == 16);
  CHECK_FALSE(f.machine.hs06);
  CHECK_FALSE(f.machine.shutdowntime);
  CHECK_FALSE(f.machine.grace_secs);
  CHECK_FALSE(f.machine.jobslots);  // 404
  CHECK(f.job.job_id == "42");
  CHECK_FALSE(f.job.allocated_cpu);
  auto reqs = server.requests();
  CHECK(std::find(reqs.begin(), reqs.end(), "GET /j/job_id") != reqs.end());
}

TEST_CASE("a hanging MJF server costs one timeout per pass and gives absent keys") {
  HttpServer server;
  server.set("/m/total_cpu", {200, "8", 3000ms});
  FeatureSources s;
  s.machine = parse_location(server.url("/m"));
  s.fetch.timeout = 300ms;
  auto start = std::chrono::steady_clock::now();
  auto f = pilot::mjf::read_features(s, {});
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK_FALSE(f.machine.total_cpu);
  CHECK(server.requests().size() == 1);  // the other keys were not tried after the timeout
}

TEST_CASE("a refused connection gives absent keys, not an error") {
  int port = 0;
  {
    HttpServer gone;
    port = gone.port();
  }
  FeatureSources s;
  s.job = parse_location("http://127.0.0.1:" + std::to_string(port) + "/j");
  auto f = pilot::mjf::read_features(s, {});
  CHECK_FALSE(f.job.shutdowntime_job);
  CHECK_FALSE(f.job.job_id);
}

TEST_CASE("dynamic keys are re-read - a failed re-read keeps the last good value") {
  pilot::TempDir tmp("mjf");
  mjf_test::put_files(tmp.path() / "m", {{"shutdowntime", "1700007200"}, {"total_cpu", "8"}});
  mjf_test::put_files(tmp.path() / "j", {{"allocated_cpu", "4"}});
  auto s = dirs(tmp.path() / "m", tmp.path() / "j");
  auto f = pilot::mjf::read_features(s, {});
  CHECK(f.machine.shutdowntime == 1700007200);
  CHECK_FALSE(f.job.shutdowntime_job);

  // Announced, moved earlier; static keys are not re-read.
  mjf_test::put_file(tmp.path() / "j/shutdowntime_job", "1700003600\n");
  mjf_test::put_file(tmp.path() / "m/shutdowntime", "1700005000\n");
  mjf_test::put_file(tmp.path() / "j/allocated_cpu", "2");
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.job.shutdowntime_job == 1700003600);
  CHECK(f.machine.shutdowntime == 1700005000);
  CHECK(f.job.allocated_cpu == 4);

  // Garbage (a half-written file) and an unreadable file keep the last good value.
  mjf_test::put_file(tmp.path() / "m/shutdowntime", "17000");
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.machine.shutdowntime == 17000);
  mjf_test::put_file(tmp.path() / "m/shutdowntime", "garbage");
  std::filesystem::remove(tmp.path() / "j/shutdowntime_job");
  std::filesystem::create_directories(tmp.path() / "j/shutdowntime_job");  // unreadable as a value
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.machine.shutdowntime == 17000);
  CHECK(f.job.shutdowntime_job == 1700003600);

  // Withdrawn: the file is gone or empty.
  std::filesystem::remove(tmp.path() / "j/shutdowntime_job");
  mjf_test::put_file(tmp.path() / "m/shutdowntime", "\n");
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK_FALSE(f.job.shutdowntime_job);
  CHECK_FALSE(f.machine.shutdowntime);
}

TEST_CASE(
    "over HTTP a 500 or a timeout on re-read keeps the last shutdown time - a 404 withdraws it") {
  HttpServer server;
  server.set("/j/shutdowntime_job", {200, "1700003600\n"});
  FeatureSources s;
  s.job = parse_location(server.url("/j"));
  s.fetch.timeout = 300ms;
  auto f = pilot::mjf::read_features(s, {});
  REQUIRE(f.job.shutdowntime_job == 1700003600);

  server.set("/j/shutdowntime_job", {500, "oops"});
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.job.shutdowntime_job == 1700003600);

  server.set("/j/shutdowntime_job", {200, "1700000000", 800ms});
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.job.shutdowntime_job == 1700003600);
  std::this_thread::sleep_for(700ms);  // the test server answers one request at a time

  server.set("/j/shutdowntime_job", {200, "1700001000"});
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK(f.job.shutdowntime_job == 1700001000);

  server.remove("/j/shutdowntime_job");
  pilot::mjf::refresh_dynamic(f, s, {});
  CHECK_FALSE(f.job.shutdowntime_job);
}
