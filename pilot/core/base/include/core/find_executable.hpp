#pragma once
// Where a command name leads, as execvp finds it. The one PATH look-up of the project: the
// pilot's own helpers (batch commands, the compiler, container runtimes, run_command) and the
// payload (in the payload's environment) resolve names by the same rule.

#include <filesystem>
#include <optional>
#include <string_view>

namespace pilot {

// Searched when PATH is unset.
inline constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// A `name` holding '/' is returned as it is, unchecked. Otherwise the first executable that is not
// a directory in the entries of `path` (a PATH value, as getenv gives it; null: kDefaultPath; an
// empty entry is the current directory), or nullopt.
std::optional<std::filesystem::path> find_executable(std::string_view name, const char* path);

}  // namespace pilot
