#pragma once
// Small helpers shared by the mjf tests: MJF directories written as a site would.

#include <ctime>
#include <filesystem>
#include <map>
#include <string>

#include "core/fs.hpp"

namespace mjf_test {

inline void write(const std::filesystem::path& path, const std::string& data) {
  std::filesystem::create_directories(path.parent_path());
  pilot::write_file_atomic(path, data);
}

inline void write_set(const std::filesystem::path& dir,
                      const std::map<std::string, std::string>& keys) {
  std::filesystem::create_directories(dir);
  for (const auto& [k, v] : keys) write(dir / k, v);
}

// Epoch of a local date and time, as batch systems print them.
inline std::int64_t local_epoch(int y, int mo, int d, int h, int mi, int s) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

}  // namespace mjf_test
