#pragma once
// Whole-file zstd compression for finished job logs.

#include <cstdint>
#include <filesystem>
#include <string>

namespace pilot::jobwrapper {

// Writes `path` + ".zst" (via a temporary file and rename), then removes `path`. Returns the new
// path. Throws pilot::Error naming the file on any failure (the original is then kept).
std::filesystem::path compress_file_zstd(const std::filesystem::path& path, int level = 3);

// The decompressed contents of a .zst file, at most `max_bytes`. Throws pilot::Error naming the
// file when it is missing, corrupt, truncated or too large.
std::string read_zstd_file(const std::filesystem::path& path, std::uint64_t max_bytes = 1ull << 30);

}  // namespace pilot::jobwrapper
