#pragma once
// Compressed copies of job logs: the tail of a file (logs can grow without bound) into a .zst
// file, and back.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>

namespace pilot::jobs::detail {

struct CompressedCopy {
  std::uint64_t bytes = 0;         // size of the source
  std::uint64_t stored_bytes = 0;  // how many of its last bytes were compressed
  bool truncated() const { return stored_bytes < bytes; }
};

// Compresses the last `max_bytes` of `from` into `to` (created or replaced, fsynced). Throws
// pilot::Error naming the file on failure.
CompressedCopy compress_tail(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::size_t max_bytes);

// Decompresses `from` onto `out`; throws pilot::Error naming the file if it is not valid zstd.
void decompress_to(const std::filesystem::path& from, std::ostream& out);

}  // namespace pilot::jobs::detail
