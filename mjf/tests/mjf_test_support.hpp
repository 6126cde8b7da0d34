#pragma once
// Small helpers shared by the mjf tests: MJF directories written as a site would.

#include <filesystem>
#include <map>
#include <string>

#include "core/fs.hpp"

namespace mjf_test {

inline void write(const std::filesystem::path& path, const std::string& data) {
  std::filesystem::create_directories(path.parent_path());
  pilot::write_file_atomic(path, data);
}

inline void write_set(const std::filesystem::path& dir, const std::map<std::string, std::string>& keys) {
  std::filesystem::create_directories(dir);
  for (const auto& [k, v] : keys) write(dir / k, v);
}

}  // namespace mjf_test
