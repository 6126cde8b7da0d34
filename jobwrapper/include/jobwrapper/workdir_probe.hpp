#pragma once
// What the watchdog needs to know about the job directory.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace pilot::jobwrapper {

// Bytes available to unprivileged writers in the file system holding `dir`.
std::optional<std::uint64_t> free_disk_bytes(const std::filesystem::path& dir);

// Newest modification time (seconds since the epoch) of a regular file below `dir`, ignoring
// the top-level names in `ignore` (the wrapper's own files). nullopt: no such file.
std::optional<double> newest_file_mtime(const std::filesystem::path& dir,
                                        const std::set<std::string>& ignore);

}  // namespace pilot::jobwrapper
