// `pilot platform` end to end: output formats, bad input, unreadable and garbage node files.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "node_files.hpp"
#include "run_pilot.hpp"

using pilot::test::put_file;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

namespace {

const char* kHaswellCpuinfo =
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v3 @ "
    "2.50GHz\n"
    "physical id\t: 0\ncore id\t: 0\nflags\t\t: fpu cmov cx8 fxsr mmx syscall lm sse sse2 pni "
    "ssse3 cx16 "
    "lahf_lm sse4_1 sse4_2 popcnt aes pclmulqdq avx fsgsbase rdrand f16c movbe avx2 fma bmi1 bmi2 "
    "abm xsave\n";

struct Node {
  pilot::TempDir dir{"platform-cli"};
  fs::path root = dir.path() / "root";
  std::map<std::string, std::string> env{{"CC", (dir.path() / "no-cc").string()},
                                         {"PILOT_CACHE_DIR", ""}};
  // A Haswell node with this os-release.
  void haswell(const std::string& os_release) const {
    put_file(root / "proc/cpuinfo", kHaswellCpuinfo);
    put_file(root / "etc/os-release", os_release);
  }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{"platform", "--root", root.string(), "--machine", "x86_64"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST_CASE("pilot platform prints the lb-describe-platform keys in order") {
  Node n;
  put_file(n.root / "proc/cpuinfo", kHaswellCpuinfo);
  put_file(n.root / "etc/os-release",
           "ID=\"almalinux\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n");
  auto r = run_pilot(n.args({"--flags"}), n.env);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out,
             Catch::StartsWith(
                 "LbPlatformUtils version: 4.5.1\ndirac_platform: haswell-el9\n"
                 "host_os: haswell-el9\nhost_binary_tag: haswell-el9-unknown-opt\n"
                 "os_id: almalinux9\narch: haswell\n"
                 "model: Intel(R) Xeon(R) CPU E5-2680 v3 @ 2.50GHz\nflags:\n  - abm\n  - aes\n"));
  CHECK_THAT(r.out, Catch::Contains(
                        "  - xsave\ncompatible_binary_tags:\n  - x86_64_v2-el9-clang16-dbg\n"));
  CHECK_THAT(r.out,
             Catch::EndsWith("  - x86_64_v3-el9-gcc13+detdesc-opt+g\ncontainer_technology: {}\n"));
  auto plain = run_pilot(n.args(), n.env);
  CHECK_THAT(plain.out, !Catch::Contains("flags:"));
}

TEST_CASE("pilot platform --json has every key the pilot and operators use") {
  Node n;
  n.haswell("ID=ubuntu\nVERSION_ID=\"22.04\"\n");
  put_file(n.root / "proc/meminfo", "MemTotal:       2048 kB\n");
  auto r = run_pilot(n.args({"--json"}), n.env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"dirac_platform",
                          "host_os",
                          "host_os_minimum",
                          "host_binary_tag",
                          "host_binary_tag_minimum",
                          "os_id",
                          "os_id_normalised",
                          "arch",
                          "arch_minimum",
                          "supported_archs",
                          "model",
                          "flags",
                          "compiler_id",
                          "compatible_binary_tags",
                          "container_technology",
                          "x86_64_level",
                          "cpus",
                          "memory",
                          "disk",
                          "gpus",
                          "cvmfs",
                          "glibc",
                          "dirac_core_platform"})
    CHECK(j.contains(key));
  CHECK(j["dirac_platform"] == "haswell-unknown");
  CHECK(j["host_os"] == "haswell-ubuntu2204");
  CHECK(j["x86_64_level"] == "x86_64_v3");
  CHECK(j["compatible_binary_tags"].empty());
  CHECK(j["memory"]["total_bytes"] == 2048 * 1024);
  CHECK(j["cpus"]["logical"] == 1);
  CHECK(j["glibc"].is_null());
  CHECK(j["dirac_core_platform"].is_null());
}

TEST_CASE("the live node probe works") {
  pilot::TempDir cache;
  std::map<std::string, std::string> env{{"PILOT_CACHE_DIR", cache.path().string()}};
  auto r = run_pilot({"platform", "--json"}, env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["cpus"]["usable"].get<int>() >= 1);
  CHECK(j["glibc"].is_string());
  CHECK_THAT(j["dirac_core_platform"].get<std::string>(), Catch::StartsWith("Linux_"));
  CHECK(j["disk"]["free_bytes"].get<std::uint64_t>() > 0);
  auto tag = run_pilot({"platform", "host-binary-tag"}, env);
  CHECK(tag.out == j["host_binary_tag"].get<std::string>() + "\n");
  // The second probe takes the compiler id from the cache and agrees with `cc -v`.
  CHECK(std::filesystem::exists(cache.path() / "compiler-id.json"));
  auto uncached = nlohmann::json::parse(run_pilot({"platform", "--json", "--no-cache"}, env).out);
  CHECK(uncached["compiler_id"] == j["compiler_id"]);
}

TEST_CASE("absent node files: documented fallbacks, exit 0") {
  Node n;
  fs::create_directories(n.root);
  auto r = run_pilot(n.args({"--json"}), n.env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["arch"] == "x86_64");
  CHECK(j["os_id"] == "unknown");
  CHECK(j["dirac_platform"] == "x86_64-unknown");
  CHECK(j["model"] == "unknown");
  CHECK(j["compiler_id"] == "unknown");
  CHECK_THAT(r.err, Catch::Contains("cpuinfo"));
}

TEST_CASE("a --root that is not a directory is an error naming it") {
  auto r = run_pilot({"platform", "--root", "/nonexistent/node", "--json"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK_THAT(r.err, Catch::Contains("/nonexistent/node"));
}

TEST_CASE("unreadable node files give a warning naming them, never a failure") {
  Node n;
  fs::create_directories(n.root / "proc/cpuinfo");  // a directory cannot be read as a file
  fs::create_directories(n.root / "etc/os-release");
  put_file(n.root / "etc/redhat-release", "CentOS Linux release 7.9.2009 (Core)\n");
  fs::create_directories(n.root / "proc/meminfo");
  fs::create_directories(n.root / "proc/self/cgroup");
  auto r = run_pilot(n.args({"--json"}), n.env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["arch"] == "x86_64");
  CHECK(j["os_id"] == "unknown");
  CHECK(j["memory"]["total_bytes"].is_null());
  CHECK_THAT(r.err, Catch::Contains("proc/cpuinfo") && Catch::Contains("etc/os-release"));
  CHECK(j["warnings"].size() == 2);
}

TEST_CASE("garbage cpuinfo and binary junk in os-release do not break the probe") {
  Node n;
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk += static_cast<char>((i * 7919) % 256);
  put_file(n.root / "proc/cpuinfo", junk + "\nflags\n:::\nflags : \xff\xfe sse\n");
  put_file(n.root / "etc/os-release", junk + "\nID=\xff\xfe\x01-x\nVERSION_ID=\x80\n");
  auto r = run_pilot(n.args({"--json"}), n.env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);  // invalid UTF-8 is replaced, the JSON stays valid
  CHECK(j["arch"] == "x86_64");
  CHECK(j["dirac_platform"] == "x86_64-unknown");
  auto text = run_pilot(n.args(), n.env);
  CHECK(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::StartsWith("LbPlatformUtils version: 4.5.1\n"));
}

TEST_CASE("a tag with fewer than three fields is a clear error, exit 1") {
  for (auto args : std::vector<std::vector<std::string>>{
           {"platform", "requires", "x86_64-el9"},
           {"platform", "lowest-common", "x86_64-el9"},
           {"platform", "requires", "x86_64-el9-gcc13-opt", "-"}}) {
    auto r = run_pilot(args);
    CHECK(r.exit_code == 1);
    CHECK(lines(r.err) == 1);
    CHECK_THAT(r.err, Catch::StartsWith("pilot platform: error: binary tag") &&
                          Catch::Contains("fewer than three"));
  }
}

TEST_CASE("can-run prints yes or no, exit 0 or 1, a malformed platform is exit 2") {
  auto yes = run_pilot({"platform", "can-run", "haswell-el9", "x86_64_v2-el9"});
  CHECK(yes.out == "yes\n");
  CHECK(yes.exit_code == 0);
  auto no = run_pilot({"platform", "can-run", "cannonlake-el9", "x86_64_v4-el9"});
  CHECK(no.out == "no\n");
  CHECK(no.exit_code == 1);
  auto bad = run_pilot({"platform", "can-run", "haswell", "x86_64_v2-el9"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK_THAT(bad.err, Catch::Contains("'haswell'"));
  CHECK(run_pilot({"platform", "can-run", "haswell-el9"}).exit_code == 2);
}

TEST_CASE("requires, compatible, lowest-common and host-binary-tag") {
  auto req = run_pilot({"platform", "requires", "x86_64-slc6-gcc62-opt", "x86_64-slc6-gcc49-opt"});
  CHECK(req.out == "x86_64_v2-slc6\nx86_64-slc6\n");
  auto comp = run_pilot({"platform", "compatible", "x86_64_v4-el9"});
  CHECK(comp.out == "skylake_avx512-any\nx86_64_v4-any\nskylake_avx512-el9\nx86_64_v4-el9\n");
  CHECK(run_pilot({"platform", "compatible", "unknown-el9"}).out.empty());
  auto low = run_pilot({"platform", "lowest-common", "x86_64-slc5-gcc49-opt,x86_64-slc6-gcc49-opt",
                        "x86_64-slc6-gcc62-opt"});
  CHECK(low.out == "x86_64_v2-slc6\n");
  auto none = run_pilot({"platform", "lowest-common", "slc4_amd64_gcc34"});
  CHECK(none.exit_code == 1);
  CHECK(none.out.empty());
  Node n;
  put_file(n.root / "proc/cpuinfo", kHaswellCpuinfo);
  put_file(n.root / "etc/redhat-release", "Scientific Linux CERN SLC release 6.10 (Carbon)\n");
  put_file(n.dir.path() / "cc", "#!/bin/sh\necho 'gcc version 4.9.3 (GCC)'\n");
  fs::permissions(n.dir.path() / "cc", fs::perms::owner_all);
  auto env = n.env;
  env["CC"] = (n.dir.path() / "cc").string();
  CHECK(run_pilot(n.args({"host-binary-tag"}), env).out == "haswell-slc6-gcc49-opt\n");
  CHECK(run_pilot(n.args({"host-binary-tag", "--minimum"}), env).out == "x86_64-slc6-gcc49-opt\n");
  env["force_host_os"] = "centos7";
  CHECK(run_pilot(n.args({"host-binary-tag"}), env).out == "haswell-centos7-gcc49-opt\n");
}

TEST_CASE(
    "an explicit platforms list (--platforms-list FILE) replaces the list, a missing or broken one "
    "is an error naming it") {
  Node n;
  n.haswell("ID=rocky\nID_LIKE=rhel\nVERSION_ID=9.1\n");
  auto list = n.dir.path() / "list.json";
  put_file(
      list,
      R"({"rows":[{"key":"x86_64_v4-el9-gcc13-opt"},{"key":"x86_64_v3-el9-gcc13-opt"},{"key":"old"}]})");
  auto r = run_pilot(n.args({"--json", "--platforms-list", list.string()}), n.env);
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["compatible_binary_tags"] == nlohmann::json::array({"x86_64_v3-el9-gcc13-opt"}));
  CHECK(j["platforms_list"] == list.string());
  auto missing =
      run_pilot(n.args({"--platforms-list", (n.dir.path() / "nope.json").string()}), n.env);
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("nope.json"));
  put_file(list, "not json");
  auto broken = run_pilot(n.args({"--platforms-list", list.string()}), n.env);
  CHECK(broken.exit_code == 1);
  CHECK_THAT(broken.err, Catch::Contains("list.json") && Catch::Contains("not valid JSON"));
}

TEST_CASE("the CVMFS platforms list under the root is used when present") {
  Node n;
  n.haswell("ID=rocky\nID_LIKE=rhel\nVERSION_ID=9.1\n");
  put_file(n.root / "cvmfs/lhcb.cern.ch/lib/var/lib/softmetadata/platforms-list.json",
           R"({"rows":[{"key":"x86_64_v2-el9-gcc42-opt"}]})");
  auto j = nlohmann::json::parse(run_pilot(n.args({"--json"}), n.env).out);
  CHECK(j["compatible_binary_tags"] == nlohmann::json::array({"x86_64_v2-el9-gcc42-opt"}));
  CHECK(j["cvmfs"] == nlohmann::json::array({"lhcb.cern.ch"}));
}

TEST_CASE(
    "container runtimes: each LHCb image is checked, a runtime printing another cwd is not "
    "usable") {
  Node n;
  n.haswell("ID=debian\nVERSION_ID=12\n");
  for (const char* image : {"slc6-devel", "centos7-devel", "alma9-devel"})
    fs::create_directories(n.root / "cvmfs/lhcb.cern.ch/containers/os-base" / image / "prod/amd64");
  auto bin = n.dir.path() / "bin";
  // apptainer works except for the slc6 image; singularity lands in the wrong directory.
  put_file(bin / "apptainer",
           "#!/bin/sh\ncase \"$*\" in *slc6*) exit 255;; esac\n"
           "[ \"$2\" = exec ] && [ \"$1\" = --silent ] || exit 9\nexec pwd -P\n");
  put_file(bin / "singularity", "#!/bin/sh\necho /home/nobody\n");
  fs::permissions(bin / "apptainer", fs::perms::owner_all);
  fs::permissions(bin / "singularity", fs::perms::owner_all);
  auto env = n.env;
  env["PATH"] = bin.string() + ":/usr/bin:/bin";
  auto j = nlohmann::json::parse(run_pilot(n.args({"--json"}), env).out);
  auto base = (n.root / "cvmfs/lhcb.cern.ch/containers/os-base").string();
  auto& ct = j["container_technology"];
  CHECK_FALSE(ct.contains("singularity"));
  REQUIRE(ct.contains("apptainer"));
  CHECK(ct["apptainer"].size() == 2);
  CHECK_FALSE(ct["apptainer"].contains(base + "/slc6-devel/prod/amd64"));
  auto centos7 = ct["apptainer"][base + "/centos7-devel/prod/amd64"];
  CHECK(std::find(centos7.begin(), centos7.end(), "x86_64+avx2+fma-centos7-gcc9-opt") !=
        centos7.end());
  auto el9 = ct["apptainer"][base + "/alma9-devel/prod/amd64"];
  CHECK(std::find(el9.begin(), el9.end(), "x86_64_v3-el9-gcc13-opt+g") != el9.end());
  CHECK(j["dirac_platform"] == "haswell-unknown");
  auto any = nlohmann::json::parse(run_pilot(n.args({"--json", "--allow-containers"}), env).out);
  CHECK(any["dirac_platform"] == "haswell-any");
  CHECK(any["compatible_binary_tags"].size() > 50);
  auto text = run_pilot(n.args(), env).out;
  CHECK_THAT(text, Catch::Contains("container_technology:\n  apptainer:\n    " + base +
                                   "/centos7-devel/prod/amd64:\n      - "));
  auto skipped = nlohmann::json::parse(run_pilot(n.args({"--json", "--no-containers"}), env).out);
  CHECK(skipped["container_technology"].empty());
}
