#include "monitor/status_file.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::monitor {

std::filesystem::path status_file_path(const std::filesystem::path& workdir) {
  return workdir / "pilot-status.json";
}

void write_status_file(const std::filesystem::path& file, const PilotStatus& status) {
  replace_file(file, to_json(status).dump() + "\n");
}

std::optional<PilotStatus> read_status_file(const std::filesystem::path& file) {
  auto text = read_file(file, 16 << 20);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) throw Error(file.string() + " is not valid JSON");
  try {
    return status_from_json(j);
  } catch (const Error& e) {
    throw Error(file.string() + ": " + e.what());
  }
}

Freshness freshness(const PilotStatus& status, double now, bool alive) {
  Freshness f;
  f.age_s = std::max(0.0, now - status.updated_at);
  if (status.state == PilotState::ended) return f;
  if (!alive) {
    f.stale = true;
    f.why = "pilot " + std::to_string(status.pid) + " is not running";
  } else if (f.age_s > kStalePeriods * status.period_s) {
    f.stale = true;
    f.why = "not updated for " + std::to_string(static_cast<long long>(std::floor(f.age_s))) +
            " s (every " + std::to_string(static_cast<long long>(status.period_s)) + " s expected)";
  }
  return f;
}

}  // namespace pilot::monitor
