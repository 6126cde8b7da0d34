#pragma once
// Small file-system pieces every module needs: read a file that may be absent, replace a file
// atomically and durably, own a file descriptor or a temporary directory.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pilot {

// Contents of `path`, or nullopt when it does not exist. Other failures (permission, I/O, a
// directory) throw pilot::Error naming the path. `max_bytes` guards against reading a device or
// a runaway file as configuration.
std::optional<std::string> read_file(const std::filesystem::path& path,
                                     std::size_t max_bytes = 64 << 20);

// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs
// the directory: after a crash the file holds either the old or the new contents, never a mix.
void write_file_atomic(const std::filesystem::path& path, std::string_view data, int mode = 0644);

// The same without the fsyncs: a reader sees the old or the new contents, never a mix, but a
// crash may lose the new ones. For files rewritten every few seconds for readers that only want
// the latest (the status file, the Prometheus text file). The temporary file is named
// `.<name>.tmpXXXXXX`, which a collector reading `*.<ext>` never picks up.
void replace_file(const std::filesystem::path& path, std::string_view data, int mode = 0644);

// fsync(2) of `fd`, the file at `path`: throws pilot::Error naming `path` when it fails. Timed as
// the trace phase "fs.fsync" (core/trace.hpp), as is every fsync of the pilot.
void sync_file(int fd, const std::filesystem::path& path);

// Owns one file descriptor; closes it when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// A directory created with mkdtemp under `parent` (default: $TMPDIR or /tmp) and removed with its
// contents when the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "pilot", std::filesystem::path parent = {});
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace pilot
