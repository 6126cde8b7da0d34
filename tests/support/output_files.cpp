#include "output_files.hpp"

#include <fstream>

#include "core/fs.hpp"

namespace pilot::test {

std::int64_t count_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::int64_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

nlohmann::json last_json_line(const std::string& out) {
  auto end = out.find_last_not_of('\n');
  if (end == std::string::npos) return nlohmann::json::parse(out);  // throws: nothing printed
  auto start = out.rfind('\n', end);
  return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1,
                                          end + 1 - (start == std::string::npos ? 0 : start + 1)));
}

std::int64_t checkpointed_events(const std::filesystem::path& job_dir) {
  auto text = read_file(job_dir / "pilot-checkpoint.txt");
  if (!text) return 0;
  auto pos = text->find("events=");
  if (pos == std::string::npos) return 0;
  try {
    return std::stoll(text->substr(pos + 7));
  } catch (...) {
    return 0;
  }
}

std::filesystem::path write_counting_script(const std::filesystem::path& dir,
                                            const std::string& name, const std::string& last) {
  auto count = (dir / name).string();
  auto script = dir / (name + ".sh");
  write_file_atomic(script, "n=$(cat " + count + " 2>/dev/null || echo 0)\nn=$((n+1)); echo $n > " +
                                count + "\n" + last + "\n");
  return script;
}

}  // namespace pilot::test
