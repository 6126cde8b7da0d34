#pragma once
// The compiler id of the host (`$CC -v`), as LbPlatformUtils computes it: "gcc11", "gcc48",
// "clang160", "icc18", or "unknown".

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::platform {

// From the text `cc -v` printed (stdout and stderr merged).
std::string compiler_id_from_output(std::string_view output);

// Runs `cc -v` with LC_ALL=C (`cc`: $CC, default "cc"). A compiler that is absent, fails, hangs
// past `timeout` or prints no known version gives "unknown", as in LbPlatformUtils.
std::string compiler_id(const std::string& cc,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace pilot::platform

namespace pilot::platform {

// compiler_id(), remembered in `cache_dir`/compiler-id.json for the exact compiler binary (its
// resolved path, inode, size and change times, and the $CC text), so later probes skip `cc -v`
// (a few ms, the dominant cost of a probe). Only ELF executables are remembered: a script
// wrapper may choose its compiler at run time. "unknown" is never remembered, so a compiler
// that hung once is asked again. Cache read or write failures only cost the `cc -v` run.
std::string cached_compiler_id(const std::string& cc, const std::filesystem::path& cache_dir,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The cached id alone (no `cc -v`): nullopt when not cached or not cacheable.
std::optional<std::string> remembered_compiler_id(const std::string& cc,
                                                  const std::filesystem::path& cache_dir);

// Where the cache lives: $PILOT_CACHE_DIR (empty: no cache), else $XDG_CACHE_HOME/pilot, else
// $HOME/.cache/pilot; nullopt when none is set. The values are passed in.
std::optional<std::filesystem::path> compiler_cache_dir(const char* pilot_cache_dir,
                                                        const char* xdg_cache_home,
                                                        const char* home);

}  // namespace pilot::platform
