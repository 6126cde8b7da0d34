#pragma once
// The files a site or a node holds (MJF directories, /proc and /etc trees below a root),
// written the same way in every test: parent directories made, each file replaced atomically.

#include <filesystem>
#include <map>
#include <string>

namespace pilot::test {

void put_file(const std::filesystem::path& path, const std::string& text);

// `dir` with one file per key (an MJF directory: key name, value text).
void put_files(const std::filesystem::path& dir, const std::map<std::string, std::string>& files);

}  // namespace pilot::test
