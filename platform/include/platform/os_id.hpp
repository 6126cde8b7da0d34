#pragma once
// The OS id as LbPlatformUtils 4.5.1 derives it (os-release, redhat-release, lsb-release,
// `force_host_os`), and its normalisation to LHCb's reference OS names.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

struct OsRelease {
  std::string name;
  std::string version;
  std::string id() const { return name + version; }
};

// Content parsers; they never throw (garbage gives defaults such as "linux" or "unknown").
OsRelease parse_os_release(std::string_view content);
OsRelease parse_system_release(std::string_view content);  // /etc/redhat-release
OsRelease parse_lsb_release(std::string_view content);

struct OsId {
  std::string raw;                    // os_id before normalisation, e.g. "almalinux9"
  std::string source;                 // "force_host_os", "/etc/os-release", ..., or "none"
  std::optional<OsRelease> parsed;    // name and version, unless forced or unknown
  std::vector<std::string> warnings;  // files that exist but could not be read
};

// Reads root/etc/os-release (when non-empty), else redhat-release, else lsb-release; nothing:
// "unknown". `force_host_os`, when set, is the result verbatim. A file that exists but cannot
// be read gives "unknown" and a warning, as LbPlatformUtils ignores such read errors.
OsId read_os_id(const std::filesystem::path& root, const std::optional<std::string>& force_host_os);

// OS_ALIASES: reference OS -> equivalent names.
using Aliases = std::vector<std::pair<std::string, std::vector<std::string>>>;
const Aliases& os_aliases();
// OS_COMPATIBILITY: an OS -> OSes whose binaries it runs ("!x": explicitly not).
using CompatibilityMap = std::map<std::string, std::vector<std::string>, std::less<>>;
const CompatibilityMap& os_compatibility();

// normal_name(): a key maps to itself, an alias to its key, anything else to `fallback`
// (or to itself when `fallback` is empty).
std::string normal_name(std::string_view name, const Aliases& aliases,
                        std::string_view fallback = {});

// check_compatibility(a, b): can OS `a` run binaries built for `b` (transitively).
bool check_compatibility(std::string_view a, std::string_view b, const CompatibilityMap& map);

}  // namespace pilot::platform
