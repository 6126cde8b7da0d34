#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/job_description.hpp"

using pilot::jobs::parse_job_description;

TEST_CASE("the spec's DIRAC job: what the pilot reads from it") {
  auto d = parse_job_description(R"([
    Executable = "/bin/echo"; Arguments = "hello from DIRAC"; JobName = "interop-test";
    JobType = "User"; CPUTime = 3600; Priority = 1; StdOutput = "std.out"; StdError = "std.err";
    OutputSandbox = { "std.out", "std.err" }; ])");
  CHECK(d.executable == "/bin/echo");
  CHECK(d.arguments == "hello from DIRAC");
  CHECK(d.job_name == "interop-test");
  CHECK(d.job_type == "User");
  CHECK(d.cpu_time == 3600);
  CHECK(d.priority == 1);
  CHECK(d.output_sandbox == std::vector<std::string>{"std.out", "std.err"});
  CHECK(d.min_processors == 1);
  CHECK(d.max_processors == 1);
  CHECK(d.platforms.empty());
  CHECK_FALSE(d.stop_signal);
}

TEST_CASE("every attribute the pilot uses, as a DIRAC server sends them") {
  auto d = parse_job_description(R"([
    JobID = 4242; Owner = "alice"; OwnerGroup = "lhcb_user";
    Executable = "$DIRACROOT/scripts/dirac-jobexec"; Arguments = "jobDescription.xml -o LogLevel=info";
    InputData = { "LFN:/lhcb/a.dst", "LFN:/lhcb/b.dst" }; InputSandbox = "LFN:/lhcb/sb.tar.bz2";
    OutputSandbox = { "std.out", "std.err", "*.log" };
    StdOutput = "out.txt"; StdError = "err.txt"; CPUTime = "86400";
    NumberOfProcessors = 4; MaxRAM = 4096; Platform = { "x86_64-centos7", "haswell-el9" };
    Tags = { "GPU", "MultiProcessor" }; Tag = "GPU"; Site = "LCG.CERN.cern"; BannedSites = { "LCG.X.x" };
    JobType = "MCSimulation"; Priority = "3"; CPUe = 12.5; MaxNumberOfEvents = 500;
    XMLSummaryFile = "summary.xml"; StopSignal = "USR1";
    ExecutionEnvironment = { "A=1", "PATHY=%2Fopt%2Fx%20y", "EQ=a=b" };
    JobRequirements = [ CPUTime = 86400; ];
  ])");
  CHECK(d.job_id == "4242");
  CHECK(d.owner == "alice");
  CHECK(d.owner_group == "lhcb_user");
  CHECK(d.executable == "$DIRACROOT/scripts/dirac-jobexec");
  CHECK(d.input_data.size() == 2);
  CHECK(d.input_sandbox == std::vector<std::string>{"LFN:/lhcb/sb.tar.bz2"});
  CHECK(d.output_sandbox.size() == 3);
  CHECK(d.std_output == "out.txt");
  CHECK(d.std_error == "err.txt");
  CHECK(d.cpu_time == 86400);
  CHECK(d.min_processors == 4);
  CHECK(d.max_processors == 4);
  CHECK(d.max_ram_mb == 4096);
  CHECK(d.platforms == std::vector<std::string>{"x86_64-centos7", "haswell-el9"});
  CHECK(d.tags == std::vector<std::string>{"GPU", "MultiProcessor"});
  CHECK(d.sites == std::vector<std::string>{"LCG.CERN.cern"});
  CHECK(d.banned_sites == std::vector<std::string>{"LCG.X.x"});
  CHECK(d.job_type == "MCSimulation");
  CHECK(d.priority == 3);
  CHECK(d.cpu_e == 12.5);
  CHECK(d.max_number_of_events == 500);
  CHECK(d.xml_summary_file == "summary.xml");
  CHECK(d.stop_signal == SIGUSR1);
  REQUIRE(d.environment.size() == 3);
  CHECK(d.environment[1] == std::pair<std::string, std::string>{"PATHY", "/opt/x y"});
  CHECK(d.environment[2] == std::pair<std::string, std::string>{"EQ", "a=b"});
}

TEST_CASE("processor ranges and defaults") {
  auto range = parse_job_description(
      "[ Executable = \"x\"; MinNumberOfProcessors = 2; MaxNumberOfProcessors = 8 ]");
  CHECK(range.min_processors == 2);
  CHECK(range.max_processors == 8);
  auto upto = parse_job_description("[ Executable = \"x\"; MaxNumberOfProcessors = 8 ]");
  CHECK(upto.min_processors == 1);
  CHECK(upto.max_processors == 8);
  auto plain = parse_job_description("[ Executable = \"x\" ]");
  CHECK(plain.std_output == "std.out");
  CHECK(plain.std_error == "std.err");
  CHECK(plain.cpu_time_or_default() == 86400);
  CHECK(parse_job_description("[ Executable = \"x\"; StopSignal = 2 ]").stop_signal == SIGINT);
  CHECK(parse_job_description("[ Executable = \"x\"; Tags = \"WholeNode\" ]").whole_node());
}

TEST_CASE("impossible values are rejected naming the input and the attribute") {
  auto err = [](const char* text) {
    try {
      parse_job_description(text, "my.jdl");
    } catch (const pilot::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("[ CPUTime = 1 ]") == "my.jdl: no Executable");
  CHECK_THAT(err("[ Executable = \"x\"; CPUTime = \"lots\" ]"),
             Catch::StartsWith("my.jdl: JDL attribute CPUTime (line 1) must be an integer"));
  CHECK_THAT(err("[ Executable = \"x\"; NumberOfProcessors = 0 ]"),
             Catch::Contains("NumberOfProcessors = 0 is not a number of processors"));
  CHECK_THAT(err("[ Executable = \"x\"; MinNumberOfProcessors = 4; MaxNumberOfProcessors = 2 ]"),
             Catch::Contains("MaxNumberOfProcessors 2 is below MinNumberOfProcessors 4"));
  CHECK_THAT(err("[ Executable = \"x\"; StopSignal = \"SIGNOPE\" ]"), Catch::Contains("SIGNOPE"));
  CHECK_THAT(err("[ Executable = \"x\"; StopSignal = 99 ]"),
             Catch::Contains("StopSignal 99 is not a signal"));
  CHECK_THAT(err("[ Executable = \"x\"; ExecutionEnvironment = { \"NOEQUALS\" } ]"),
             Catch::Contains("ExecutionEnvironment item 'NOEQUALS' is not NAME=value"));
  CHECK_THAT(err("[ Executable = \"x\"; StdOutput = \"../escape\" ]"),
             Catch::Contains("StdOutput '../escape' contains a '..' component"));
  CHECK_THAT(err("[ Executable = \"x\"; CPUe = 0 ]"), Catch::Contains("CPUe must be positive"));
  CHECK_THAT(err("[ Executable = \"x\" "), Catch::StartsWith("my.jdl:1:20: missing ']'"));
}

TEST_CASE("the shipped demo jobs are valid") {
  namespace fs = std::filesystem;
  int n = 0;
  for (const auto& e : fs::directory_iterator(fs::path(PILOT_SOURCE_DIR) / "pilot/jobs/demo")) {
    if (e.path().extension() != ".jdl") continue;
    INFO(e.path());
    auto d = parse_job_description(*pilot::read_file(e.path()), e.path().string());
    CHECK(d.executable == "/bin/sh");
    CHECK(d.cpu_time);
    ++n;
  }
  CHECK(n >= 3);
}

TEST_CASE("the jobs that need the DIRAC runtime") {
  using pilot::jobs::is_dirac_jobexec;
  using pilot::jobs::needs_dirac_runtime;
  CHECK(needs_dirac_runtime("dirac-jobexec"));
  CHECK(needs_dirac_runtime(" $DIRACROOT/scripts/dirac-jobexec"));
  CHECK(needs_dirac_runtime("${DIRACROOT}/bin/python"));
  CHECK(needs_dirac_runtime("dirac-dms-get-file"));
  CHECK(needs_dirac_runtime("/opt/dirac/bin/dirac-wms-job-status"));
  CHECK_FALSE(needs_dirac_runtime("/bin/echo"));
  CHECK_FALSE(needs_dirac_runtime("lb-run"));
  CHECK_FALSE(needs_dirac_runtime("my-dirac-tool"));
  CHECK(is_dirac_jobexec("$DIRACROOT/scripts/dirac-jobexec"));
  CHECK(is_dirac_jobexec("${DIRACROOT}/scripts/dirac-jobexec"));
  CHECK_FALSE(is_dirac_jobexec("dirac-dms-get-file"));
}
