#include "core/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <system_error>

#include "core/error.hpp"
#include "core/failpoint.hpp"
#include "core/trace.hpp"

namespace pilot {
namespace {

void write_all(int fd, std::string_view data, const std::filesystem::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + path.string(), errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw_errno("cannot open " + path.string(), errno);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot read " + path.string(), errno);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes)
      throw Error("file too large (over " + std::to_string(max_bytes) +
                  " bytes): " + path.string());
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

void sync_file(int fd, const std::filesystem::path& path) {
  trace::Phase timed("fs.fsync");
  if (::fsync(fd) != 0) throw_errno("cannot fsync " + path.string(), errno);
}

namespace {

// Writes a temporary file beside `path` and renames it over `path`; `durable`: fsyncs the file
// before the rename. Returns the directory, for the caller's directory fsync.
std::filesystem::path replace_through_temporary(const std::filesystem::path& path,
                                                std::string_view data, int mode, bool durable) {
  auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / ("." + path.filename().string() + ".tmpXXXXXX")).string();
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) throw_errno("cannot create a temporary file in " + dir.string(), errno);
  try {
    write_all(fd.get(), data, tmpl);
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
      throw_errno("cannot set the mode of " + tmpl, errno);
    if (durable) sync_file(fd.get(), tmpl);
    fd = UniqueFd();
    if (::rename(tmpl.c_str(), path.c_str()) != 0)
      throw_errno("cannot rename " + tmpl + " to " + path.string(), errno);
  } catch (...) {  // the temporary file goes whatever failed; the error itself is rethrown
    ::unlink(tmpl.c_str());
    throw;
  }
  return dir;
}

}  // namespace

void replace_file(const std::filesystem::path& path, std::string_view data, int mode) {
  replace_through_temporary(path, data, mode, false);
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data, int mode) {
  trace::Phase timed("fs.write_atomic");
  auto dir = replace_through_temporary(path, data, mode, true);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) {
    // Best effort: a file system that cannot sync a directory has already renamed durably.
    trace::Phase dir_timed("fs.fsync");
    ::fsync(dfd.get());
  }
  failpoint("journal");
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

TempDir::TempDir(std::string_view prefix, std::filesystem::path parent) {
  if (parent.empty()) {
    const char* t = std::getenv("TMPDIR");
    parent = (t && *t) ? t : "/tmp";
  }
  std::string tmpl = (parent / (std::string(prefix) + ".XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw_errno("cannot create a temporary directory in " + parent.string(), errno);
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace pilot
