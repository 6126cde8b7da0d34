#include "node_files.hpp"

#include "core/fs.hpp"

namespace pilot::test {

void put_file(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  write_file_atomic(path, text);
}

void put_files(const std::filesystem::path& dir, const std::map<std::string, std::string>& files) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, text] : files) put_file(dir / name, text);
}

}  // namespace pilot::test
