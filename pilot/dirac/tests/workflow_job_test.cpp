// Workflow jobs: which need the runtime, the command JobWrapper would run, the configuration and
// environment the workflow reads, and what the pilot refuses to start without.
#include <signal.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "dirac/workflow_job.hpp"
#include "node_files.hpp"

namespace fs = std::filesystem;
using namespace pilot::dirac;

namespace {

DiracRuntime fake_runtime(const fs::path& root) {
  DiracRuntime rt;
  rt.jobexec = root / "bin/dirac-jobexec";
  rt.diracroot = root;
  rt.environment = {{"PATH", (root / "bin").string() + ":/usr/bin:/bin"},
                    {"PYTHONPATH", (root / "lib").string()},
                    {"REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem"}};
  return rt;
}

LocalSite cern() {
  LocalSite s;
  s.site = "LCG.CERN.cern";
  s.grid_ce = "ce503.cern.ch";
  s.ce_queue = "condor";
  s.architecture = "x86_64-el9";
  s.cpu_normalization_factor = 17.5;
  s.local_se = {"CERN-DST-EOS", "CERN-USER"};
  return s;
}

}  // namespace

TEST_CASE("workflow: the payload configuration finds each service through the Setup") {
  PayloadCfgInputs in;
  in.setup = "LHCb-Production";
  in.vo = "lhcb";
  in.local_site = cern();
  in.ca_location = "/etc/grid-security/certificates";
  in.services = {
      {"WorkloadManagement", "JobStateUpdate", {"https://wms:8443/WMS/TornadoJSU"}},
      {"WorkloadManagement", "SandboxStore", {"dips://a:9196/WMS/SB", "dips://b:9196/WMS/SB"}},
      {"Framework", "ProxyManager", {"dips://px:9152/Framework/ProxyManager"}},
      {"Framework", "Unused", {}}};
  in.configuration_servers = {"dips://cs:9135/Configuration/Server"};
  in.site_cfg.section("LocalSite").set("LocalSE", "SITE-SE");
  auto cfg = parse_cfg(to_cfg_text(payload_cfg(in)), "payload.cfg");
  CHECK(cfg.value_at("/DIRAC/Setup") == "LHCb-Production");
  CHECK(cfg.value_at("/DIRAC/VirtualOrganization") == "lhcb");
  CHECK(cfg.value_at("/DIRAC/Security/CALocation") == "/etc/grid-security/certificates");
  CHECK(cfg.list_at("/DIRAC/Configuration/Servers") ==
        std::vector<std::string>{"dips://cs:9135/Configuration/Server"});
  auto wms = cfg.value_at("/DIRAC/Setups/LHCb-Production/WorkloadManagement");
  REQUIRE(wms);
  CHECK(cfg.value_at("/Systems/WorkloadManagement/" + *wms + "/URLs/JobStateUpdate") ==
        "https://wms:8443/WMS/TornadoJSU");
  CHECK(cfg.list_at("/Systems/WorkloadManagement/" + *wms + "/URLs/SandboxStore").size() == 2);
  auto fw = cfg.value_at("/DIRAC/Setups/LHCb-Production/Framework");
  REQUIRE(fw);
  CHECK(cfg.value_at("/Systems/Framework/" + *fw + "/URLs/ProxyManager") ==
        "dips://px:9152/Framework/ProxyManager");
  CHECK_FALSE(cfg.value_at("/Systems/Framework/" + *fw + "/URLs/Unused"));
  CHECK(cfg.value_at("/LocalSite/Site") == "LCG.CERN.cern");
  CHECK(cfg.value_at("/LocalSite/GridCE") == "ce503.cern.ch");
  CHECK(cfg.value_at("/LocalSite/CEQueue") == "condor");
  CHECK(cfg.value_at("/LocalSite/Architecture") == "x86_64-el9");
  CHECK(cfg.value_at("/LocalSite/CPUNormalizationFactor") == "17.5");
  CHECK(cfg.value_at("/LocalSite/LocalSE") == "SITE-SE");  // the site's file wins
}

TEST_CASE("workflow: without a Setup the URLs stand directly under the system (NoSetup)") {
  PayloadCfgInputs in;
  in.services = {{"WorkloadManagement", "JobStateUpdate", {"https://wms:8443/x"}}};
  auto cfg = payload_cfg(in);
  CHECK(cfg.value_at("/DIRAC/NoSetup") == "True");
  CHECK_FALSE(cfg.value_at("/DIRAC/Setup"));
  CHECK_FALSE(cfg.find_section("DIRAC")->find_section("Setups"));
  CHECK(cfg.value_at("/Systems/WorkloadManagement/URLs/JobStateUpdate") == "https://wms:8443/x");
}

TEST_CASE(
    "workflow: the command is JobWrapper's, with the -o /LocalSite options for dirac-jobexec") {
  auto rt = fake_runtime("/cvmfs/dirac/v8");
  auto site = cern();
  site.site = "LCG.Odd site's";
  CHECK(workflow_argv("dirac-jobexec", "jobDescription.xml -o LogLevel=INFO", site, rt) ==
        std::vector<std::string>{
            "/bin/sh", "-c",
            "exec /cvmfs/dirac/v8/bin/dirac-jobexec jobDescription.xml -o LogLevel=INFO"
            " -o /LocalSite/CPUNormalizationFactor=17.5 -o '/LocalSite/Site=LCG.Odd site'\\''s'"
            " -o /LocalSite/GridCE=ce503.cern.ch -o /LocalSite/CEQueue=condor"
            " -o /LocalSite/RemoteExecution=False"});
  CHECK(workflow_argv("$DIRACROOT/scripts/dirac-jobexec", "", cern(), rt)[2].starts_with(
      "exec /cvmfs/dirac/v8/bin/dirac-jobexec -o /LocalSite/CPUNormalizationFactor=17.5"));
  // Another command keeps its arguments and gets no options.
  CHECK(workflow_argv("$DIRACROOT/bin/tool", "a 'b c'", cern(), rt)[2] ==
        "exec /cvmfs/dirac/v8/bin/tool a 'b c'");
  CHECK(workflow_argv("${PYTHONPATH}/x$UNKNOWN$", "", cern(), rt)[2] ==
        "exec '/cvmfs/dirac/v8/lib/x$UNKNOWN$'");
}

TEST_CASE("workflow: the command's words reach dirac-jobexec through a real shell") {
  pilot::TempDir tmp("workflow");
  auto rt = fake_runtime(tmp.path());
  pilot::test::put_file(rt.jobexec, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n");
  ::chmod(rt.jobexec.c_str(), 0755);
  auto site = cern();
  site.ce_queue = "long queue; rm -rf /";
  auto argv = workflow_argv("dirac-jobexec", "jobDescription.xml -o LogLevel=DEBUG", site, rt);
  auto r = pilot::run_command(argv);
  REQUIRE(r);
  CHECK(r->out ==
        "[jobDescription.xml]\n[-o]\n[LogLevel=DEBUG]\n[-o]\n[/LocalSite/"
        "CPUNormalizationFactor=17.5]\n"
        "[-o]\n[/LocalSite/Site=LCG.CERN.cern]\n[-o]\n[/LocalSite/GridCE=ce503.cern.ch]\n[-o]\n"
        "[/LocalSite/CEQueue=long queue; rm -rf /]\n[-o]\n[/LocalSite/RemoteExecution=False]\n");
}

TEST_CASE("workflow: the environment holds the runtime and never a CA bundle") {
  auto w = workflow_environment(fake_runtime("/cvmfs/dirac/v8"), "/job/1/pilot.cfg",
                                "/etc/grid-security/certificates", "/job/1/proxy");
  CHECK(w.set.at("PYTHONPATH") == "/cvmfs/dirac/v8/lib");
  CHECK(w.set.at("DIRACROOT") == "/cvmfs/dirac/v8");
  CHECK(w.set.at("DIRACSYSCONFIG") == "/job/1/pilot.cfg");
  CHECK(w.set.at("X509_CERT_DIR") == "/etc/grid-security/certificates");
  CHECK(w.set.at("X509_USER_PROXY") == "/job/1/proxy");
  CHECK(w.set.count("REQUESTS_CA_BUNDLE") == 0);
  CHECK(w.unset == std::vector<std::string>{"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"});
  CHECK(workflow_environment(fake_runtime("/x"), "c", "d", "").set.count("X509_USER_PROXY") == 0);
}

TEST_CASE("workflow: everything a workflow would silently miss is named") {
  pilot::TempDir tmp("workflow");
  auto rt = fake_runtime(tmp.path());
  pilot::test::put_file(rt.jobexec, "#!/bin/sh\n");
  ::chmod(rt.jobexec.c_str(), 0755);
  fs::create_directories(tmp.path() / "certificates");
  pilot::write_file_atomic(tmp.path() / "proxy", "PEM");
  PayloadCfgInputs in;
  in.setup = "Test-Setup";
  pilot::write_file_atomic(tmp.path() / "pilot.cfg", to_cfg_text(payload_cfg(in)));
  std::vector<std::string> good{"JOBID=42", "X509_USER_PROXY=" + (tmp.path() / "proxy").string(),
                                "X509_CERT_DIR=" + (tmp.path() / "certificates").string(),
                                "PATH=" + rt.environment.at("PATH"),
                                "DIRACSYSCONFIG=" + (tmp.path() / "pilot.cfg").string()};
  CHECK(missing_for_workflow(good).empty());

  auto missing = missing_for_workflow({"PATH=/usr/bin:/bin", "CURL_CA_BUNDLE=/x.pem"});
  REQUIRE(missing.size() == 6);
  CHECK(missing[0] == "JOBID is not set: the workflow would run as a local job");
  CHECK(missing[1] == "X509_USER_PROXY is not set: the workflow has no proxy");
  CHECK(missing[2] == "X509_CERT_DIR is not set: the workflow finds no CAs");
  CHECK(missing[3] == "no dirac-jobexec on the payload's PATH (/usr/bin:/bin)");
  CHECK_THAT(missing[4], Catch::StartsWith("CURL_CA_BUNDLE is set"));
  CHECK(missing[5] == "DIRACSYSCONFIG is not set: the workflow has no DIRAC configuration");

  pilot::write_file_atomic(tmp.path() / "nosetup.cfg",
                           "DIRAC\n{\n  VirtualOrganization = lhcb\n}\n");
  auto bad = good;
  bad[1] = "X509_USER_PROXY=" + (tmp.path() / "absent").string();
  bad[4] = "DIRACSYSCONFIG=" + (tmp.path() / "nosetup.cfg").string();
  missing = missing_for_workflow(bad);
  REQUIRE(missing.size() == 2);
  CHECK(missing[0] == "X509_USER_PROXY " + (tmp.path() / "absent").string() + " cannot be read");
  CHECK_THAT(missing[1], Catch::EndsWith("has no /DIRAC/Setup: dirac-jobexec would stop at once"));
}

TEST_CASE("workflow: shell words are quoted only when the shell would touch them") {
  CHECK(shell_word("/LocalSite/Site=LCG.CERN.cern") == "/LocalSite/Site=LCG.CERN.cern");
  CHECK(shell_word("") == "''");
  CHECK(shell_word("a b") == "'a b'");
  CHECK(shell_word("it's") == "'it'\\''s'");
  CHECK(shell_word("$HOME") == "'$HOME'");
}

TEST_CASE("workflow: what the end of dirac-jobexec says about its steps") {
  using pilot::dirac::jobexec_failure;
  CHECK(jobexec_failure(0, std::nullopt).empty());
  CHECK(jobexec_failure(1, std::nullopt) ==
        "the workflow did not run to its end: a configuration error or an interrupt "
        "(dirac-jobexec exit 1)");
  CHECK(jobexec_failure(232, std::nullopt) ==
        "a workflow step's executable could not be started (dirac-jobexec exit 232)");
  // A step killed by signal S makes dirac-jobexec exit S.
  CHECK(jobexec_failure(9, std::nullopt) ==
        "the last failing workflow step exited 9 or was killed by SIGKILL (dirac-jobexec exit 9)");
  CHECK(jobexec_failure(70, std::nullopt) ==
        "the last failing workflow step exited 70 (dirac-jobexec exit 70)");
  // Told apart by WIFSIGNALED: dirac-jobexec itself died.
  CHECK(jobexec_failure(std::nullopt, SIGKILL) ==
        "dirac-jobexec was killed by SIGKILL: its steps' state is unknown");
}
