// Hostile or broken job descriptions: names that leave the job directory, enormous values,
// bytes that are not UTF-8, runaway nesting. Each is refused with an error naming the input, the
// attribute and the problem (`pilot queue submit` refusing them: pilot/cli/tests/queue_test.cpp).

#include <catch2/catch.hpp>

#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/job_description.hpp"
#include "jobs/local_queue.hpp"

using pilot::jobs::parse_job_description;

namespace {

std::string error_of(const std::string& text) {
  try {
    parse_job_description(text, "job 7");
  } catch (const pilot::Error& e) {
    return e.what();
  }
  return "no error";
}

std::string job(const std::string& extra) {
  return "[ Executable = \"/bin/true\"; " + extra + " ]";
}

}  // namespace

TEST_CASE("bad JDL: sandbox and output names that leave the job directory") {
  struct Case {
    std::string attributes, message;
  };
  const Case cases[] = {
      {"StdOutput = \"/etc/passwd\"", "job 7: StdOutput '/etc/passwd' is an absolute path"},
      {"StdError = \"../../x\"", "job 7: StdError '../../x' contains a '..' component"},
      {"StdOutput = \"logs/out\"", "job 7: StdOutput 'logs/out' is not a file name"},
      {"StdOutput = \".\"", "job 7: StdOutput '.' is not a file name"},
      {"StdError = \"a\\tb\"", "job 7: StdError 'a\\x09b' contains a control character"},
      {"OutputSandbox = { \"std.out\", \"/home/pilot/.ssh/id_rsa\" }",
       "job 7: OutputSandbox entry '/home/pilot/.ssh/id_rsa' is an absolute path"},
      {"OutputSandbox = { \"out/../../proxy\" }",
       "job 7: OutputSandbox entry 'out/../../proxy' contains a '..' component"},
      {"OutputSandbox = \"..\"", "job 7: OutputSandbox entry '..' contains a '..' component"},
      {"OutputSandbox = { \"\" }", "job 7: OutputSandbox entry '' is empty"},
      {"OutputSandbox = { \"~/x\" }", "job 7: OutputSandbox entry '~/x' starts with '~'"},
      {"InputSandbox = { \"data/..\" }",
       "job 7: InputSandbox entry 'data/..' names no file (its last component is '..')"},
      {"InputSandbox = { \"data/\" }",
       "job 7: InputSandbox entry 'data/' names no file (its last component is '')"},
      {"InputSandbox = { \"SB:ProductionSandboxSE|/SandBox/../../etc/x.tar.bz2\" }",
       "job 7: InputSandbox entry 'SB:ProductionSandboxSE|/SandBox/../../et...' contains a '..' "
       "component"},
      {"InputSandbox = { \"SB:/SandBox/x.tar.bz2\" }",
       "job 7: InputSandbox entry 'SB:/SandBox/x.tar.bz2' is not a sandbox reference SB:<storage "
       "element>|<path>"},
      {"InputSandbox = { \"LFN:/lhcb/user/p/pilot/../../../etc/x\" }",
       "job 7: InputSandbox entry 'LFN:/lhcb/user/p/pilot/../../../etc/x' LFN contains a '..' "
       "component"},
      {"XMLSummaryFile = \"/tmp/summary.xml\"",
       "job 7: XMLSummaryFile '/tmp/summary.xml' is an absolute path"},
      {"XMLSummaryFile = \"../summary.xml\"",
       "job 7: XMLSummaryFile '../summary.xml' contains a '..' component"},
  };
  for (const auto& c : cases) {
    INFO(c.attributes);
    CHECK_THAT(error_of(job(c.attributes)),
               Catch::StartsWith(c.message) &&
                   Catch::EndsWith("(names must stay inside the job directory)"));
  }
}

TEST_CASE("bad JDL: valid sandbox references and relative names are accepted") {
  auto d = parse_job_description(
      job("InputSandbox = { \"SB:ProductionSandboxSE|/SandBox/l/lhcb_mc/5f3/2a1/5f32a1.tar.bz2\", "
          "\"LFN:/lhcb/user/p/pilot/inputs.tgz\", \"lfn:/lhcb/user/p/pilot/x.py\", \"run.py\", "
          "\"cfg/opts.py\" }; "
          "OutputSandbox = { \"std.out\", \"*.log\", \"out/summary..xml\", \"./hist.root\" }; "
          "StdOutput = \"job.out\"; StdError = \"job..err\"; XMLSummaryFile = "
          "\"summary/Summary.xml\""));
  CHECK(d.input_sandbox.size() == 5);
  CHECK(d.output_sandbox.size() == 4);
  CHECK(d.std_error == "job..err");
  CHECK(d.xml_summary_file == "summary/Summary.xml");
}

TEST_CASE("bad JDL: InputSandbox lists the submitter's local names as WMSClient keeps them") {
  // DIRAC's Job().setExecutable("/bin/echo") lists /bin/echo and ships a copy in the SB:
  // sandbox: every plain entry stands for the file of its last component.
  auto d = parse_job_description(
      job("InputSandbox = { \"/bin/echo\", \"../shared/x.py\", \"cfg/opts.py\", "
          "\"SB:SandboxSE|/SandBox/p/pilot.testvo_user/5f3/2a1/5f32a1.tar.bz2\" }"));
  REQUIRE(d.input_sandbox.size() == 4);
  CHECK(pilot::jobs::input_file_name(d.input_sandbox[0]) == "echo");
  CHECK(pilot::jobs::input_file_name(d.input_sandbox[1]) == "x.py");
  CHECK(pilot::jobs::input_file_name(d.input_sandbox[2]) == "opts.py");
}

TEST_CASE("bad JDL: enormous values hit the documented limits, naming the attribute") {
  pilot::jobs::JdlLimits limits;
  CHECK_THAT(error_of(job("Arguments = \"" + std::string(limits.max_string_bytes + 1, 'a') + "\"")),
             Catch::StartsWith("job 7:1:41: string longer than the limit of 1048576 bytes") &&
                 Catch::EndsWith("(in attribute 'Arguments')"));
  std::string list = "InputData = {";
  for (std::size_t i = 0; i <= limits.max_elements; ++i) list += (i ? ",1" : "1");
  CHECK_THAT(error_of(job(list + "}")),
             Catch::Contains("more than 100000 attributes and list elements") &&
                 Catch::EndsWith("(in attribute 'InputData')"));
  CHECK_THAT(error_of(job("Arguments = \"" + std::string(limits.max_bytes, 'a') + "\"")),
             Catch::StartsWith("job 7: job description of ") &&
                 Catch::Contains("bytes is larger than the limit of 4194304 bytes"));
  CHECK_THAT(
      error_of(
          job("Requirements = " + std::string(600000, 'x') + " + " + std::string(600000, 'y'))),
      Catch::Contains(
          "expression longer than the limit of 1048576 bytes (in attribute 'Requirements')"));
}

TEST_CASE("bad JDL: bytes that are not UTF-8") {
  CHECK_THAT(error_of(job("JobName = \"caf\xe9\"")),
             Catch::StartsWith("job 7:1:39: string is not valid UTF-8") &&
                 Catch::EndsWith("(in attribute 'JobName')"));
  CHECK_THAT(error_of(job("Arguments = \"\\351t\\351\"")),
             Catch::EndsWith("(in attribute 'Arguments')"));
  CHECK_THAT(error_of(job("JobRequirements = [ Sites = { \"LCG.CERN.cern\", \"\xc0\xaf\" } ]")),
             Catch::Contains("string is not valid UTF-8 (in attribute 'JobRequirements.Sites')"));
  CHECK_THAT(error_of(job("Job\xffName = \"x\"")),
             Catch::StartsWith("job 7:1:32: unexpected character '\\xff'"));
  CHECK_THAT(error_of(job("OutputSandbox = { \"std.out\", \"\xed\xa0\x80\" }")),
             Catch::Contains("string is not valid UTF-8 (in attribute 'OutputSandbox')"));
}

TEST_CASE("bad JDL: deeply nested blocks stop at the nesting limit, naming the attribute") {
  std::string deep = "[ Executable = \"/bin/true\"; JobRequirements = ";
  for (int i = 0; i < 40; ++i) deep += "[ L" + std::to_string(i) + " = ";
  deep += "1";
  for (int i = 0; i < 40; ++i) deep += " ]";
  deep += " ]";
  auto e = error_of(deep);
  CHECK_THAT(e, Catch::Contains("nesting deeper than the limit of 32") &&
                    Catch::Contains("(in attribute 'JobRequirements.L0.L1.L2."));
  CHECK_THAT(error_of(job("Tags = " + std::string(50, '{') + std::string(50, '}'))),
             Catch::Contains("nesting deeper than the limit of 32 (in attribute 'Tags')"));
}
