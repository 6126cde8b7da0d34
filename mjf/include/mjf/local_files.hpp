#pragma once
// Files an operator puts on the node itself, found under a root directory ("/" in production,
// a scratch tree in tests): `var/run/shutdown_time` (an epoch, MJF integer rules; dynamic like
// shutdowntime) and the DIRAC drain file `var/lib/dirac_drain` (exists: take no new job).

#include <cstdint>
#include <filesystem>
#include <optional>

#include "core/log.hpp"

namespace pilot::mjf {

std::filesystem::path shutdown_file_path(const std::filesystem::path& root);
std::filesystem::path drain_file_path(const std::filesystem::path& root);

// Re-reads the shutdown file into `value`: a missing or empty file clears it; an unreadable file
// or a value that is not an integer keeps the last good value (logged).
void refresh_shutdown_file(std::optional<std::int64_t>& value, const std::filesystem::path& root,
                           const log::Logger& log);

// Whether the drain file `file` (by default drain_file_path("/"); operators may move it) exists;
// one that cannot be checked counts as absent.
bool drain_file_exists(const std::filesystem::path& file);

}  // namespace pilot::mjf
