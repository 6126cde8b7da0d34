#include "jobwrapper/workdir_probe.hpp"

#include <sys/stat.h>

#include "core/filesystem_space.hpp"

namespace pilot::jobwrapper {

std::optional<std::uint64_t> free_disk_bytes(const std::filesystem::path& dir) {
  if (auto s = filesystem_space(dir)) return s->free_bytes;
  return std::nullopt;
}

std::optional<double> newest_file_mtime(const std::filesystem::path& dir,
                                        const std::set<std::string>& ignore) {
  namespace fs = std::filesystem;
  std::optional<double> newest;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() == 0 && ignore.count(it->path().filename().string())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    // lstat: a symlink to a file elsewhere says nothing about the job writing.
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    double t = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
    if (!newest || t > *newest) newest = t;
  }
  return newest;
}

}  // namespace pilot::jobwrapper
