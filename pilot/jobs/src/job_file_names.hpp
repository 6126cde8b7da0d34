#pragma once
// What a job description may name as a file. The pilot creates, reads and ships these files
// inside the job directory, so a name that is absolute or climbs out with `..` would let a job
// description read or overwrite the pilot's own files (its proxy, other jobs' outputs).

#include <optional>
#include <string>
#include <string_view>

namespace pilot::jobs::detail {

// Why `name` does not name a file (or glob pattern) below the job directory: empty, absolute,
// a `..` component, a control character. nullopt when it is fine.
std::optional<std::string> job_path_problem(std::string_view name);

// The same for an InputSandbox entry: a sandbox store reference `SB:<SE>|<path>`, a catalogue
// file `LFN:<path>` (absolute, but still without `..`), or the name a submitter gave a local
// file, of which only the last component counts (input_file_name).
std::optional<std::string> input_sandbox_problem(std::string_view entry);

}  // namespace pilot::jobs::detail
