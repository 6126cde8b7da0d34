#pragma once
// Small helpers shared by the mjf tests: MJF directories written as a site would, local dates.

#include <ctime>
#include <filesystem>
#include <map>
#include <string>

#include "core/fs.hpp"
#include "node_files.hpp"

namespace mjf_test {

// MJF directories and files: pilot::test::put_files and put_file (tests/support/node_files.hpp).
using pilot::test::put_file;
using pilot::test::put_files;

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
