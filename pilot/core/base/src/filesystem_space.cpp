#include "core/filesystem_space.hpp"

#include <sys/statvfs.h>

namespace pilot {

std::optional<FilesystemSpace> filesystem_space(const std::filesystem::path& dir) {
  struct statvfs s {};
  if (::statvfs(dir.c_str(), &s) != 0) return std::nullopt;
  return FilesystemSpace{static_cast<std::uint64_t>(s.f_bavail) * s.f_frsize,
                         static_cast<std::uint64_t>(s.f_blocks) * s.f_frsize};
}

}  // namespace pilot
