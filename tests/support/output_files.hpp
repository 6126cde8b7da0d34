#pragma once
// Reading what a pilot or a payload left behind, the same way in every test.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace pilot::test {

// Lines in a file (a toy MC output file holds one line per event); 0 when it does not exist.
std::int64_t count_lines(const std::filesystem::path& file);

// The last non-empty line of a command's output, parsed as JSON (`--json` summaries and records).
nlohmann::json last_json_line(const std::string& output);

// The events of the checkpoint file in `job_dir` (pilot-checkpoint.txt); 0 while there is none or
// it is being replaced.
std::int64_t checkpointed_events(const std::filesystem::path& job_dir);

// Writes `<dir>/<name>.sh`, a payload script that counts its runs in `<dir>/<name>` (in $n) and
// then runs `last` (e.g. "[ $n -ge 2 ] && exit 0; exit 222"). Returns the script's path.
std::filesystem::path write_counting_script(const std::filesystem::path& dir,
                                            const std::string& name, const std::string& last);

}  // namespace pilot::test
