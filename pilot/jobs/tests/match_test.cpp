#include <catch2/catch.hpp>

#include "jobs/match.hpp"

using pilot::jobs::JobDescription;
using pilot::jobs::match_job;
using pilot::jobs::parse_job_description;
using pilot::jobs::ResourceRequest;

namespace {

ResourceRequest offer() {
  ResourceRequest r;
  r.site = "LCG.CERN.cern";
  r.platform = "x86_64-el9";
  r.cpu_work_left_hs06s = 100000;
  r.processors = 4;
  r.max_ram_mb = 8192;
  return r;
}

JobDescription job(const std::string& extra) {
  return parse_job_description("[ Executable = \"/bin/true\"; CPUTime = 1000; " + extra + " ]");
}

std::string why(const JobDescription& j, const ResourceRequest& r,
                const pilot::jobs::PlatformCheck& p = {}) {
  auto m = match_job(j, r, p);
  return m.matched ? "matched" : m.reason;
}

}  // namespace

TEST_CASE("a plain job matches a plain offer with one processor") {
  auto m = match_job(job(""), offer(), {});
  CHECK(m.matched);
  CHECK(m.processors == 1);
}

TEST_CASE("a job that needs DIRAC matches only an offer with a DIRAC runtime") {
  auto workflow = parse_job_description(
      "[ Executable = \"dirac-jobexec\"; Arguments = \"jobDescription.xml\"; CPUTime = 1000 ]");
  CHECK(why(workflow, offer()) == "'dirac-jobexec' needs a DIRAC runtime and this pilot has none");
  auto r = offer();
  r.dirac_runtime = true;
  CHECK(why(workflow, r) == "matched");
  CHECK(why(job(""), r) == "matched");
}

TEST_CASE("site and banned sites") {
  CHECK(why(job("Site = \"ANY\""), offer()) == "matched");
  CHECK(why(job("Site = { \"LCG.CERN.cern\", \"LCG.RAL.uk\" }"), offer()) == "matched");
  CHECK(why(job("Site = \"LCG.RAL.uk\""), offer()) ==
        "Site LCG.RAL.uk does not include this site 'LCG.CERN.cern'");
  CHECK(why(job("BannedSites = \"LCG.CERN.cern\""), offer()) ==
        "this site 'LCG.CERN.cern' is in BannedSites");
}

TEST_CASE("job types the offer restricts to") {
  auto r = offer();
  r.extra["JobType"] = {"MCSimulation", "User"};
  CHECK(why(job("JobType = \"User\""), r) == "matched");
  CHECK(why(job("JobType = \"Merge\""), r) ==
        "JobType 'Merge' is not among the offered MCSimulation, User");
}

TEST_CASE("platform goes through the composition's check") {
  std::vector<std::string> asked;
  auto check = [&](const std::string& p) {
    asked.push_back(p);
    return p == "x86_64-centos7";
  };
  CHECK(why(job("Platform = { \"aarch64-el9\", \"x86_64-centos7\" }"), offer(), check) ==
        "matched");
  CHECK(asked == std::vector<std::string>{"aarch64-el9", "x86_64-centos7"});
  CHECK(why(job("Platform = \"aarch64-el9\""), offer(), check) ==
        "Platform aarch64-el9 is not compatible with this node's 'x86_64-el9'");
  CHECK(why(job("Platform = \"ANY\""), offer(), [](const std::string&) { return false; }) ==
        "matched");
  // Without a check, equality.
  CHECK(why(job("Platform = \"x86_64-el9\""), offer()) == "matched");
}

TEST_CASE("CPU time against the CPU work left") {
  auto r = offer();
  r.cpu_work_left_hs06s = 999;
  CHECK(why(job(""), r) == "CPUTime 1000 HS06 s exceeds the CPU work left 999");
  r.cpu_work_left_hs06s = 1000;
  CHECK(why(job(""), r) == "matched");
  // No CPUTime: DIRAC's default 86400.
  CHECK(why(parse_job_description("[ Executable = \"x\" ]"), r) ==
        "CPUTime 86400 HS06 s exceeds the CPU work left 1000");
  r.cpu_work_left_hs06s = 0;  // unknown: no limit
  CHECK(why(parse_job_description("[ Executable = \"x\" ]"), r) == "matched");
}

TEST_CASE("processors: minimum, range, whole node") {
  CHECK(why(job("NumberOfProcessors = 8"), offer()) == "needs 8 processors, 4 free");
  auto m = match_job(job("MinNumberOfProcessors = 2; MaxNumberOfProcessors = 16"), offer(), {});
  CHECK(m.matched);
  CHECK(m.processors == 4);
  CHECK(match_job(job("NumberOfProcessors = 3"), offer(), {}).processors == 3);
  CHECK(why(job("Tags = \"WholeNode\""), offer()) == "a WholeNode job needs a whole idle node");
  auto whole = offer();
  whole.whole_node = true;
  auto w = match_job(job("Tags = \"WholeNode\""), whole, {});
  CHECK(w.matched);
  CHECK(w.processors == 4);
}

TEST_CASE("memory") {
  CHECK(why(job("MaxRAM = 8192"), offer()) == "matched");
  CHECK(why(job("MaxRAM = 9000"), offer()) == "MaxRAM 9000 MB exceeds the 8192 MB offered");
  auto r = offer();
  r.max_ram_mb = 0;
  CHECK(why(job("MaxRAM = 9000"), r) == "matched");
}

TEST_CASE("tags: the job's must all be offered, the offer's required ones must be the job's") {
  auto r = offer();
  r.tags = {"GPU", "cvmfs"};
  CHECK(why(job("Tags = { \"GPU\" }"), r) == "matched");
  CHECK(why(job("Tags = { \"GPU\", \"AVX512\" }"), r) == "tag 'AVX512' is not offered");
  CHECK(why(job("Tags = { \"4Processors\", \"MultiProcessor\", \"8GB\" }"), r) == "matched");
  CHECK(why(job("Tags = { \"16GB\" }"), r) == "tag '16GB' is not offered");
  r.required_tags = {"GPU"};
  CHECK(why(job(""), r) == "the offer requires tag 'GPU'");
  CHECK(why(job("Tags = \"GPU\""), r) == "matched");
  auto packing = offer();
  packing.required_tags = {"4Processors"};
  CHECK(why(job("NumberOfProcessors = 4"), packing) == "matched");
  CHECK(why(job("NumberOfProcessors = 2"), packing) == "the offer requires tag '4Processors'");
  auto mp = offer();
  mp.required_tags = {"MultiProcessor"};
  CHECK(why(job(""), mp) == "the offer requires tag 'MultiProcessor'");
  CHECK(pilot::jobs::offered_tags(offer()) ==
        std::vector<std::string>{"MultiProcessor", "2Processors", "3Processors", "4Processors",
                                 "1GB", "2GB", "3GB", "4GB", "5GB", "6GB", "7GB", "8GB"});
}
