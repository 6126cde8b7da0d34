#include "bootstrap/userdata.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "core/version.hpp"

extern const char* const kEmbedded_pilot_bootstrap_sh;
extern const char* const kEmbedded_pilot_slot_sh;
extern const char* const kEmbedded_pilot_shutdown_hook_sh;

namespace pilot::bootstrap {
namespace {

constexpr const char* kLibexec = "/usr/local/libexec/pilot";

// A YAML literal block (`|`) whose lines are indented under a `content:` key.
std::string literal_block(const std::string& text, int indent) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  std::string out = "|\n";
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += (line.empty() ? "" : pad + line) + "\n";
  return out;
}

std::string write_file(const std::string& path, const std::string& permissions,
                       const std::string& content) {
  return "  - path: " + path + "\n    permissions: '" + permissions +
         "'\n    content: " + literal_block(content, 6);
}

// A value for an environment file read by both systemd (EnvironmentFile) and sh (`.`).
std::string env_value(const std::string& name, const std::string& v) {
  if (v.find_first_of("'\n\\") != std::string::npos)
    throw Error(name + " must not contain quotes, backslashes or newlines: " + v);
  return "'" + v + "'";
}

std::string pilot_unit(int grace) {
  return "[Unit]\nDescription=pilot agent\nAfter=network-online.target remote-fs.target "
         "autofs.service\n"
         "Wants=network-online.target\n\n[Service]\nType=simple\nEnvironmentFile=/etc/pilot/"
         "slot.env\n"
         "DynamicUser=yes\nStateDirectory=pilot\n"
         "ExecStart=/bin/sh " +
         std::string(kLibexec) +
         "/pilot-bootstrap.sh -- run --config /etc/pilot/pilot.json\n"
         "KillSignal=SIGUSR1\nKillMode=mixed\nTimeoutStopSec=" +
         std::to_string(grace + 30) + "\nRestart=no\n\n[Install]\nWantedBy=multi-user.target\n";
}

// Stopped before pilot.service at shutdown (units stop in reverse start order), so the pilot
// learns of the shutdown through MJF while it still runs.
std::string notice_unit(int grace) {
  return "[Unit]\nDescription=announce the machine's shutdown to the pilot (MJF shutdowntime)\n"
         "After=pilot.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/"
         "true\n"
         "ExecStop=/bin/sh " +
         std::string(kLibexec) +
         "/pilot-shutdown-hook.sh\nTimeoutStopSec=" + std::to_string(grace + 30) +
         "\n\n[Install]\nWantedBy=multi-user.target\n";
}

}  // namespace

const std::string& bootstrap_script() {
  static const std::string s = kEmbedded_pilot_bootstrap_sh;
  return s;
}

const std::string& slot_script() {
  static const std::string s = kEmbedded_pilot_slot_sh;
  return s;
}

std::string make_user_data(const UserDataOptions& o) {
  if (o.binary_url.empty()) throw Error("userdata: --binary-url is required");
  std::string sha = o.sha256;
  std::transform(sha.begin(), sha.end(), sha.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)
    throw Error("userdata: --sha256 must be 64 hex digits, got '" + o.sha256 + "'");
  if (o.grace_s < 1) throw Error("userdata: --grace must be at least 1 second");
  auto config = nlohmann::json::parse(o.pilot_config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object())
    throw Error("userdata: the pilot configuration must be a JSON object");
  std::string repos;
  for (const auto& r : o.cvmfs_repositories) {
    if (r.find_first_of(", '\n") != std::string::npos || r.empty())
      throw Error("userdata: bad CVMFS repository name '" + r + "'");
    repos += (repos.empty() ? "" : ",") + r;
  }

  std::string env =
      "PILOT_BINARY=" + env_value("--binary-url", o.binary_url) + "\n" +
      "PILOT_SHA256_FILE='/etc/pilot/pilot.sha256'\n" +
      "PILOT_CVMFS_REPOS=" + env_value("--cvmfs", repos) + "\n" +
      "PILOT_WORK_BASE='/var/lib/pilot'\n" + "MACHINEFEATURES='/etc/pilot/machinefeatures'\n" +
      "PILOT_SLOT_GRACE='" + std::to_string(o.grace_s) + "'\n" +
      "PILOT_SLOT_PIDFILE='/run/pilot-slot.pid'\n" + "PILOT_SLOT_LOG='/var/log/pilot-slot.log'\n";

  std::string y = "#cloud-config\n# Made by `pilot userdata` (pilot " + version() + ").\n";
  y += "write_files:\n";
  y += write_file("/etc/pilot/pilot.json", "0644", config.dump(2) + "\n");
  y += write_file("/etc/pilot/pilot.sha256", "0644", sha + "  pilot\n");
  y += write_file("/etc/pilot/slot.env", "0644", env);
  if (o.total_cpu)
    y += write_file("/etc/pilot/machinefeatures/total_cpu", "0644",
                    std::to_string(*o.total_cpu) + "\n");
  if (o.hs06) {
    std::ostringstream hs;
    hs << *o.hs06;
    y += write_file("/etc/pilot/machinefeatures/hs06", "0644", hs.str() + "\n");
  }
  y += write_file(std::string(kLibexec) + "/pilot-bootstrap.sh", "0755",
                  kEmbedded_pilot_bootstrap_sh);
  y += write_file(std::string(kLibexec) + "/pilot-slot.sh", "0755", kEmbedded_pilot_slot_sh);
  y += write_file(std::string(kLibexec) + "/pilot-shutdown-hook.sh", "0755",
                  kEmbedded_pilot_shutdown_hook_sh);
  y += write_file("/etc/systemd/system/pilot.service", "0644", pilot_unit(o.grace_s));
  y += write_file("/etc/systemd/system/pilot-shutdown-notice.service", "0644",
                  notice_unit(o.grace_s));
  // With systemd: two units. Without (containers, minimal images): the plain slot script, with
  // the same environment.
  y += "runcmd:\n";
  y += "  - - sh\n    - -c\n    - >-\n      mkdir -p /var/lib/pilot /etc/pilot/machinefeatures &&\n"
       "      if [ -d /run/systemd/system ]; then systemctl daemon-reload &&\n"
       "      systemctl enable --now pilot-shutdown-notice.service pilot.service;\n"
       "      else set -a && . /etc/pilot/slot.env && set +a &&\n"
       "      sh " +
       std::string(kLibexec) + "/pilot-slot.sh start -- run --config /etc/pilot/pilot.json; fi\n";
  return y;
}

}  // namespace pilot::bootstrap
