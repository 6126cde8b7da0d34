#pragma once
// The checkpoint protocol between a payload and the pilot. The payload's environment holds
// PILOT_NUMBER_OF_EVENTS and PILOT_CHECKPOINT_FILE; the payload replaces that file atomically
// (write a temporary file, rename) with `key=value` lines:
//   events=<finished events>          required, a non-negative integer
//   output=<path>                     optional, repeatable: files holding those events
//   <other key>=<value>               kept as extras (e.g. step=generation)
// Blank lines and lines starting with '#' are ignored.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::mc {

inline constexpr const char* kEnvNumberOfEvents = "PILOT_NUMBER_OF_EVENTS";
inline constexpr const char* kEnvCheckpointFile = "PILOT_CHECKPOINT_FILE";

struct Checkpoint {
  std::int64_t events = 0;
  std::vector<std::string> outputs;
  std::map<std::string, std::string> extras;
  bool operator==(const Checkpoint&) const = default;
};

// Throws pilot::Error naming `source` and the line for malformed text (no events line, a
// negative or non-integer count, a line without '=').
Checkpoint parse_checkpoint(std::string_view text, std::string_view source = "checkpoint");

// The file's checkpoint, nullopt if it does not exist yet; throws for a malformed file.
std::optional<Checkpoint> read_checkpoint(const std::filesystem::path& file);

std::string format_checkpoint(const Checkpoint& checkpoint);
nlohmann::json to_json(const Checkpoint& checkpoint);
// Throws pilot::Error when 'events' is not a count, nlohmann's type errors for other fields of
// the wrong type.
Checkpoint checkpoint_from_json(const nlohmann::json& j);

}  // namespace pilot::mc
