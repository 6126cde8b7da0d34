#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "platform/compiler.hpp"
#include "text.hpp"

namespace pilot::platform {
namespace {

namespace fs = std::filesystem;

// Identity of the compiler binary, or "" when it must not be cached (absent, not ELF).
std::string identity(const std::string& cc) {
  auto exe = find_executable(cc, std::getenv("PATH"));
  if (!exe) return {};
  std::error_code ec;
  auto real = fs::canonical(*exe, ec);
  if (ec) return {};
  UniqueFd fd(::open(real.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  char magic[4] = {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      ::pread(fd.get(), magic, 4, 0) != 4 ||
      std::string_view(magic, 4) !=
          "\x7f"
          "ELF")
    return {};
  return cc + "\n" + real.string() + "\n" + std::to_string(st.st_dev) + ":" +
         std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

}  // namespace

std::optional<std::string> remembered_compiler_id(const std::string& cc,
                                                  const fs::path& cache_dir) {
  auto key = identity(cc);
  if (key.empty()) return std::nullopt;
  try {
    if (auto text = read_file(cache_dir / "compiler-id.json", 64 << 10)) {
      auto j = nlohmann::json::parse(*text, nullptr, false);
      if (j.is_object() && j.value("key", "") == key && j.contains("id") && j["id"].is_string())
        return j["id"].get<std::string>();
    }
  } catch (const Error&) {
    // unreadable cache: ask the compiler
  }
  return std::nullopt;
}

std::string cached_compiler_id(const std::string& cc, const fs::path& cache_dir,
                               std::chrono::milliseconds timeout) {
  if (auto id = remembered_compiler_id(cc, cache_dir)) return *id;
  auto key = identity(cc);
  if (key.empty()) return compiler_id(cc, timeout);
  auto file = cache_dir / "compiler-id.json";
  auto id = compiler_id(cc, timeout);
  if (id == "unknown") return id;
  try {
    std::error_code ec;
    fs::create_directories(cache_dir, ec);
    nlohmann::json j{{"key", key}, {"id", id}};
    write_file_atomic(file,
                      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } catch (const Error&) {
    // read-only home, full disk: the next probe runs `cc -v` again
  }
  return id;
}

std::optional<fs::path> compiler_cache_dir(const char* pilot_cache_dir, const char* xdg_cache_home,
                                           const char* home) {
  if (pilot_cache_dir) {
    if (!*pilot_cache_dir) return std::nullopt;
    return fs::path(pilot_cache_dir);
  }
  if (xdg_cache_home && *xdg_cache_home == '/') return fs::path(xdg_cache_home) / "pilot";
  if (home && *home == '/') return fs::path(home) / ".cache/pilot";
  return std::nullopt;
}

}  // namespace pilot::platform
