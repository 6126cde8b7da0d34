#pragma once
// Tar archives of DIRAC sandboxes. Extraction treats the archive as hostile: every entry must land
// inside the destination directory, and nothing is ever written through a symbolic link, so an
// archive cannot touch anything outside the directory, not even for a moment. Each refusal is a
// pilot::Error naming the archive, the entry and the reason; what was extracted before the
// refusal stays (the caller discards the job directory).
//
// Read: ustar, GNU (long names 'L'/'K', base-256 sizes) and pax ('x', 'g': path, linkpath, size)
// headers, as Python's tarfile and GNU tar write them; compression (none, gzip, bzip2) is found
// from the magic bytes, not the file name. Written: pax-format tar compressed with bzip2, what
// DIRAC's SandboxStoreClient uploads.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace pilot::sandbox {

struct ExtractLimits {
  std::uint64_t max_file_size = 2ULL << 30;    // one regular file
  std::uint64_t max_total_size = 10ULL << 30;  // all regular files of the archive together
  std::uint64_t max_entries = 100000;
};

struct ExtractResult {
  std::uint64_t entries = 0;
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;  // regular file contents written
};

enum class Compression { none, gzip, bzip2 };
// The compression the first bytes of a file announce (none when neither magic matches).
Compression detect_compression(const std::filesystem::path& archive);

// Whether `file` is a regular file holding a tar archive (plain, gzip or bzip2), judged as
// Python's tarfile.is_tarfile does: its first header block reads and its checksum is right.
// Never throws: an unreadable file is not an archive.
bool is_tar_archive(const std::filesystem::path& file);

// Extracts `archive` into the existing directory `dest`. Refused: absolute names, `..`
// components, names passing through a symbolic link, symbolic links whose target is absolute or
// leaves `dest`, hard links to names outside `dest` or to missing files, devices and FIFOs,
// unknown entry types, entries over the limits, bad header checksums, truncated archives.
// Existing files of the same name are replaced (a later sandbox wins, as in DIRAC); an existing
// directory is kept. Modes keep the rwx bits only (never setuid/setgid/sticky), directories stay
// writable by their owner.
ExtractResult extract_archive(const std::filesystem::path& archive,
                              const std::filesystem::path& dest, const ExtractLimits& limits = {});

struct ArchiveMember {
  std::filesystem::path source;  // file or directory on disk (directories are added recursively)
  std::string name;              // its name in the archive
};

// Writes a bzip2-compressed tar of `members` to `output` (replaced if it exists). Regular files,
// directories and symbolic links are stored; other file types inside directories are skipped.
// A member given by a symbolic link is stored as what it points to. Throws pilot::Error naming
// the member that cannot be read, or `output`.
void create_tar_bz2(const std::filesystem::path& output, const std::vector<ArchiveMember>& members);

}  // namespace pilot::sandbox
