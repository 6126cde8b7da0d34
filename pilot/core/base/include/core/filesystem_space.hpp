#pragma once
// The one statvfs of the project: free and total space of the file system holding a directory
// (the agent's start-up check, the job wrapper's watchdog, `pilot platform`).

#include <cstdint>
#include <filesystem>
#include <optional>

namespace pilot {

struct FilesystemSpace {
  std::uint64_t free_bytes = 0;  // available to unprivileged writers (f_bavail)
  std::uint64_t total_bytes = 0;
};

// nullopt, with errno set, when `dir` cannot be queried.
std::optional<FilesystemSpace> filesystem_space(const std::filesystem::path& dir);

}  // namespace pilot
