#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "jobwrapper/container.hpp"

using pilot::jobwrapper::ContainerRuntime;
using pilot::jobwrapper::ContainerSpec;

TEST_CASE("apptainer runs contained with /cvmfs and the job directory bound, LHCb style") {
  ContainerSpec s;
  s.runtime = ContainerRuntime::apptainer;
  s.executable = "/cvmfs/oasis.opensciencegrid.org/mis/apptainer/bin/apptainer";
  s.image = "/cvmfs/lhcb.cern.ch/containers/os-base/alma9-devel/prod/amd64";
  s.workdir = "/pilot/job_1";
  s.binds = {"/"};  // exists everywhere, so it is kept
  auto argv = pilot::jobwrapper::container_argv(s, {"./run.sh", "a b"});
  std::vector<std::string> want{s.executable.string(),
                                "--silent",
                                "exec",
                                "--contain",
                                "--ipc",
                                "--userns",
                                "--bind",
                                "/",
                                "--bind",
                                "/pilot/job_1",
                                "--pwd",
                                "/pilot/job_1",
                                s.image,
                                "./run.sh",
                                "a b"};
  CHECK(argv == want);
}

TEST_CASE("container specs that cannot work are errors") {
  ContainerSpec s;
  s.runtime = ContainerRuntime::apptainer;
  s.executable = "/usr/bin/apptainer";
  s.workdir = "/j";
  CHECK_THROWS_WITH(pilot::jobwrapper::container_argv(s, {"x"}), Catch::Contains("no image"));
  s.runtime = ContainerRuntime::bubblewrap;
  s.workdir = "relative";
  CHECK_THROWS_WITH(pilot::jobwrapper::container_argv(s, {"x"}), Catch::Contains("absolute"));
  CHECK_THROWS_WITH(pilot::jobwrapper::parse_runtime("docker"), Catch::Contains("docker"));
  s.runtime = ContainerRuntime::none;
  CHECK(pilot::jobwrapper::container_argv(s, {"x", "y"}) == std::vector<std::string>{"x", "y"});
}

TEST_CASE(
    "a payload in bubblewrap reads its job directory but not the pilot's proxy or work area") {
  auto bwrap = pilot::jobwrapper::find_runtime(ContainerRuntime::bubblewrap);
  REQUIRE(bwrap);  // bubblewrap is installed by ci/setup: its absence is a set-up failure
  pilot::TempDir pilot_area("pilot-area");
  auto job = pilot_area.path() / "job_7";
  std::filesystem::create_directories(job);
  pilot::write_file_atomic(job / "input.txt", "job data\n");
  pilot::write_file_atomic(pilot_area.path() / "other-job-secret", "not yours\n");
  pilot::TempDir creds("creds");
  auto proxy = creds.path() / "x509up_u0";
  pilot::write_file_atomic(proxy, "-----BEGIN CERTIFICATE-----\npilot proxy\n", 0600);

  ContainerSpec s;
  s.runtime = ContainerRuntime::bubblewrap;
  s.executable = bwrap->executable;
  s.workdir = job;
  s.hide = {proxy, pilot_area.path()};
  auto argv = pilot::jobwrapper::container_argv(
      s, {"/bin/sh", "-c",
          "cat input.txt; cat " + proxy.string() + " | wc -c; ls " + pilot_area.path().string() +
              "; echo out > result.txt"});
  auto r = pilot::run_command(argv);
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->ok());
  CHECK(r->out == "job data\n0\njob_7\n");  // proxy empty, the other job's file invisible
  CHECK(pilot::read_file(job / "result.txt") == "out\n");  // the job directory is writable
}
