// job.info as DIRAC's JobAgent and JobWrapper write it from a job's JDL.
#include <catch2/catch.hpp>

#include "jobs/jdl.hpp"
#include "jobs/job_info.hpp"

TEST_CASE("job.info: one /Job line per attribute, in the JDL's order, with DIRAC's values") {
  auto jdl = pilot::jobs::parse_jdl(R"([
    Executable = "dirac-jobexec";
    Arguments = "jobDescription.xml -o LogLevel=INFO";
    CPUTime = 86400;
    InputSandbox = { "/bin/echo", "SB:ProductionSandboxSE|/SandBox/a/alice.testvo_user/3db/x.tar.bz2" };
    OutputSandbox = { "Script1_echo.log", "std.err", "std.out" };
    JobName = "two words";
  ])");
  CHECK(pilot::jobs::job_info(jdl) ==
        "/Job/Executable = dirac-jobexec\n"
        "/Job/Arguments = jobDescription.xml -o LogLevel=INFO\n"
        "/Job/CPUTime = 86400\n"
        "/Job/InputSandbox = /bin/echo, "
        "SB:ProductionSandboxSE|/SandBox/a/alice.testvo_user/3db/x.tar.bz2\n"
        "/Job/OutputSandbox = Script1_echo.log, std.err, std.out\n"
        "/Job/JobName = two words\n");
}

TEST_CASE("job.info keeps DIRAC's flaws: list items split at spaces, quotes dropped") {
  auto jdl = pilot::jobs::parse_jdl(
      R"([ OutputSandbox = { "my file.txt" }; Arguments = "-c \"echo hi\""; Tags = {}; ])");
  CHECK(pilot::jobs::job_info(jdl) ==
        "/Job/OutputSandbox = my, file.txt\n"
        "/Job/Arguments = -c \\echo hi\\\n"
        "/Job/Tags = \n");
}
