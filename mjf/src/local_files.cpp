#include "mjf/local_files.hpp"

#include "core/fs.hpp"
#include "mjf/value.hpp"

namespace pilot::mjf {

std::filesystem::path shutdown_file_path(const std::filesystem::path& root) {
  return root / "var/run/shutdown_time";
}

std::filesystem::path drain_file_path(const std::filesystem::path& root) {
  return root / "var/lib/dirac_drain";
}

void refresh_shutdown_file(std::optional<std::int64_t>& value, const std::filesystem::path& root,
                           const log::Logger& log) {
  auto path = shutdown_file_path(root);
  std::optional<std::string> text;
  try {
    text = read_file(path, 64 * 1024);
  } catch (const std::exception& e) {
    log.warn("cannot read the shutdown file, keeping its last value", {{"reason", e.what()}});
    return;
  }
  if (!text || text->find_first_not_of(" \t\r\n") == std::string::npos) {
    value.reset();
    return;
  }
  if (auto v = parse_integer(*text)) {
    value = v;
    return;
  }
  log.warn("ignoring an unusable shutdown file value",
           {{"path", path.string()}, {"value", text->substr(0, 60)}});
}

bool drain_file_exists(const std::filesystem::path& file) {
  std::error_code ec;
  return std::filesystem::exists(file, ec);
}

}  // namespace pilot::mjf
