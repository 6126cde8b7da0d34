#include "core/find_executable.hpp"

#include <unistd.h>

#include <algorithm>

namespace pilot {

std::optional<std::filesystem::path> find_executable(std::string_view name, const char* path) {
  if (name.find('/') != std::string_view::npos) return std::filesystem::path(name);
  std::string_view dirs = path ? std::string_view(path) : kDefaultPath;
  for (std::size_t pos = 0; pos <= dirs.size();) {
    auto colon = std::min(dirs.find(':', pos), dirs.size());
    auto dir = dirs.substr(pos, colon - pos);
    auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
    std::error_code ec;
    if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate, ec))
      return candidate;
    pos = colon + 1;
  }
  return std::nullopt;
}

}  // namespace pilot
