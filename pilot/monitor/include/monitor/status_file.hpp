#pragma once
// The status file: <workdir>/pilot-status.json, the agent's PilotStatus rewritten atomically
// (never half-written, not fsynced: only the latest matters) every period and at each change,
// and left as the pilot's last word when it ends. `pilot status` reads it.

#include <filesystem>
#include <optional>
#include <string>

#include "monitor/pilot_status.hpp"

namespace pilot::monitor {

std::filesystem::path status_file_path(const std::filesystem::path& workdir);

// Throws pilot::Error naming the file when it cannot be written.
void write_status_file(const std::filesystem::path& file, const PilotStatus& status);

// nullopt when the file does not exist; throws pilot::Error naming the file when it cannot be
// read or is not a status.
std::optional<PilotStatus> read_status_file(const std::filesystem::path& file);

// Whether a status describes a pilot that still runs. `alive`: its process exists (the reader
// looks; a pid reused by another program after a reboot still counts, so the age decides too).
struct Freshness {
  bool stale = false;  // the pilot died without writing "ended", or stopped rewriting the file
  double age_s = 0;    // since the status was written
  std::string why;     // for a stale status: "pilot 4242 is not running", "not updated for 40 s"
};
// Stale: not ended, and its process is gone or it is older than kStalePeriods periods.
inline constexpr double kStalePeriods = 4;
Freshness freshness(const PilotStatus& status, double now, bool alive);

}  // namespace pilot::monitor
