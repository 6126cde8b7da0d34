#include <catch2/catch.hpp>

#include "bootstrap/userdata.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

using pilot::bootstrap::make_user_data;
using pilot::bootstrap::UserDataOptions;

namespace {
UserDataOptions good() {
  UserDataOptions o;
  o.pilot_config_json = R"({"queue_dir": "/var/lib/pilot/queue"})";
  o.binary_url = "https://lhcb-pilot.example/pilot";
  o.sha256 = std::string(64, 'a');
  o.cvmfs_repositories = {"lhcb.cern.ch", "lhcb-condb.cern.ch"};
  o.grace_s = 120;
  o.total_cpu = 8;
  o.hs06 = 88.5;
  return o;
}
}  // namespace

TEST_CASE("user-data installs config, checksum, scripts, units and MJF, and starts the pilot") {
  auto y = make_user_data(good());
  CHECK_THAT(y, Catch::StartsWith("#cloud-config\n"));
  CHECK_THAT(y, Catch::Contains("path: /etc/pilot/pilot.json") &&
                    Catch::Contains("\"queue_dir\": \"/var/lib/pilot/queue\""));
  CHECK_THAT(y, Catch::Contains(std::string(64, 'a') + "  pilot"));
  CHECK_THAT(y, Catch::Contains("PILOT_BINARY='https://lhcb-pilot.example/pilot'"));
  CHECK_THAT(y, Catch::Contains("PILOT_CVMFS_REPOS='lhcb.cern.ch,lhcb-condb.cern.ch'"));
  CHECK_THAT(y, Catch::Contains("path: /etc/pilot/machinefeatures/total_cpu") &&
                    Catch::Contains("      88.5\n"));
  CHECK_THAT(y, Catch::Contains("path: /usr/local/libexec/pilot/pilot-bootstrap.sh"));
  CHECK_THAT(y, Catch::Contains("KillSignal=SIGUSR1") && Catch::Contains("TimeoutStopSec=150"));
  CHECK_THAT(y,
             Catch::Contains("ExecStop=/bin/sh /usr/local/libexec/pilot/pilot-shutdown-hook.sh"));
  CHECK_THAT(y, Catch::Contains("runcmd:"));
  // Every line of the embedded bootstrap script is inside the literal block.
  CHECK_THAT(y, Catch::Contains("      exec \"$workdir/pilot\" \"$@\"\n"));
  CHECK_THAT(pilot::bootstrap::bootstrap_script(), Catch::StartsWith("#!/bin/sh"));
}

TEST_CASE("user-data refuses bad options, naming them") {
  auto o = good();
  o.sha256 = "abc";
  CHECK_THROWS_WITH(make_user_data(o), Catch::Contains("--sha256"));
  o = good();
  o.binary_url = "";
  CHECK_THROWS_WITH(make_user_data(o), Catch::Contains("--binary-url"));
  o = good();
  o.binary_url = "https://x/it's";
  CHECK_THROWS_WITH(make_user_data(o), Catch::Contains("--binary-url"));
  o = good();
  o.pilot_config_json = "[1, 2]";
  CHECK_THROWS_WITH(make_user_data(o), Catch::Contains("JSON object"));
  o = good();
  o.cvmfs_repositories = {"lhcb.cern.ch,other"};
  CHECK_THROWS_WITH(make_user_data(o), Catch::Contains("CVMFS repository"));
  o = good();
  o.sha256 = std::string(64, 'A');
  CHECK_THAT(make_user_data(o), Catch::Contains(std::string(64, 'a') + "  pilot"));
}
