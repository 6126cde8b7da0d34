#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "run_pilot.hpp"

using pilot::test::run_pilot;

namespace {
int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}
}  // namespace

TEST_CASE("pilot --help lists the subcommands and exits 0") {
  auto r = run_pilot({"--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Subcommands:") && Catch::Contains("version"));
}

TEST_CASE("an unknown subcommand is a one-line error with exit code 2") {
  auto r = run_pilot({"frobnicate"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(count_lines(r.err) == 1);
  CHECK_THAT(r.err, Catch::StartsWith("pilot: error:") && Catch::Contains("frobnicate"));
}

TEST_CASE("an unknown option is a one-line error with exit code 2") {
  auto r = run_pilot({"version", "--no-such-option"});
  CHECK(r.exit_code == 2);
  CHECK(count_lines(r.err) == 1);
  CHECK_THAT(r.err, Catch::Contains("--no-such-option"));
}

TEST_CASE("no subcommand is a usage error") {
  auto r = run_pilot({});
  CHECK(r.exit_code == 2);
  CHECK(count_lines(r.err) == 1);
}

TEST_CASE("a bad global option value is a usage error naming the value") {
  auto r = run_pilot({"--log-format", "xml", "version"});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("xml"));
}

TEST_CASE("pilot version prints the version, the commit and the linked libraries") {
  auto r = run_pilot({"version"});
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("pilot 0.") && Catch::Contains("commit ") &&
                        Catch::Contains("openssl OpenSSL 3") && Catch::Contains("libcurl 7.88") &&
                        Catch::Contains("zstd 1.5") && Catch::Contains("boost 1.81"));
  auto j = nlohmann::json::parse(run_pilot({"version", "--json"}).out);
  CHECK(j["version"] ==
        run_pilot({"--version"}).out.substr(0, run_pilot({"--version"}).out.find('\n')));
  CHECK(j["git_commit"].get<std::string>().size() >= 7);
  CHECK_THAT(j["libraries"]["libcurl"].get<std::string>(), Catch::Contains("c-ares"));
}

TEST_CASE("pilot platform and pilot features agree on the batch system's processors") {
  // HTCondor's machine ad comes before SLURM_CPUS_ON_NODE (glideinWMS order, mjf/batch.hpp);
  // `pilot platform` used to prefer Slurm and report 4 where `pilot features` reported 8.
  pilot::TempDir dir("cli-batch");
  pilot::write_file_atomic(dir.path() / "machine.ad", "Memory = 2000\nCpus = 8\n");
  std::map<std::string, std::string> env{
      {"SLURM_CPUS_ON_NODE", "4"}, {"_CONDOR_MACHINE_AD", (dir.path() / "machine.ad").string()}};
  auto platform = run_pilot({"platform", "--json"}, env);
  INFO(platform.err);
  REQUIRE(platform.exit_code == 0);
  auto features = run_pilot({"features", "--json"}, env);
  INFO(features.err);
  REQUIRE(features.exit_code == 0);
  auto p = nlohmann::json::parse(platform.out);
  auto f = nlohmann::json::parse(features.out);
  CHECK(p["cpus"]["batch"] == 8);
  CHECK(f["processors"] == 8);
  CHECK(f["processors_source"].get<std::string>().starts_with("_CONDOR_MACHINE_AD"));
}
