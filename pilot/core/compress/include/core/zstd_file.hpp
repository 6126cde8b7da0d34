#pragma once
// zstd files for job logs: compressing a finished log (or the tail of one that may have grown
// without bound) and reading one back. Every failure throws pilot::Error naming the file.

#include <cstdint>
#include <filesystem>
#include <limits>
#include <ostream>
#include <string>

namespace pilot {

struct CompressedCopy {
  std::uint64_t bytes = 0;         // size of the source when it was read
  std::uint64_t stored_bytes = 0;  // how many of its last bytes were compressed
  bool truncated() const { return stored_bytes < bytes; }
};

// Compresses the last `max_bytes` of `from` (a regular file; one still growing is cut at the size
// seen) into `to`, through a temporary file that is fsynced and renamed, so `to` is complete or
// absent.
CompressedCopy compress_tail(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max(),
                             int level = 3);

// Writes `path` + ".zst", then removes `path`; returns the new path. On failure the original is
// kept.
std::filesystem::path compress_file_zstd(const std::filesystem::path& path, int level = 3);

// Decompresses `from` onto `out`, at most `max_bytes`; a missing, corrupt, truncated or too
// large file throws.
void decompress_to(const std::filesystem::path& from, std::ostream& out,
                   std::uint64_t max_bytes = std::numeric_limits<std::uint64_t>::max());

// The decompressed contents of a .zst file, at most `max_bytes`.
std::string read_zstd_file(const std::filesystem::path& path, std::uint64_t max_bytes = 1ull << 30);

}  // namespace pilot
