#pragma once
// VM contextualisation: a `#cloud-config` user-data that installs the pilot's configuration,
// the bootstrap script and the binary's expected checksum, fetches and verifies the binary, and
// runs the pilot as a service, with a shutdown hook that announces the end of the VM through
// Machine/Job Features (`shutdowntime`) so the pilot stops its payloads gracefully.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pilot::bootstrap {

struct UserDataOptions {
  std::string pilot_config_json;  // installed as /etc/pilot/pilot.json
  std::string binary_url;         // https:// URL (or a path inside the image) of the pilot binary
  std::string sha256;             // its expected SHA-256, 64 hex digits
  std::vector<std::string> cvmfs_repositories;
  int grace_s = 60;              // notice the shutdown hook gives the pilot
  std::optional<int> total_cpu;  // MJF machine features of the VM, when the cloud tells
  std::optional<double> hs06;
};

// Throws pilot::Error naming the option for invalid values (bad checksum, empty URL, config
// that is not a JSON object).
std::string make_user_data(const UserDataOptions& options);

// The bootstrap script shipped inside the binary (bootstrap/pilot-bootstrap.sh).
const std::string& bootstrap_script();
const std::string& slot_script();

}  // namespace pilot::bootstrap
