#pragma once
// The list of known binary tags (LHCb's software metadata) from which a host's compatible tags are
// chosen: an explicit file, else the copy on CVMFS, else the list embedded in the pilot (the one
// LbPlatformUtils 4.5.1 ships).

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

inline constexpr std::string_view kCvmfsPlatformsList =
    "cvmfs/lhcb.cern.ch/lib/var/lib/softmetadata/platforms-list.json";

// The keys of a CouchDB view ({"rows":[{"key":TAG,...},...]}) or of a plain JSON array of tags,
// keeping only names with a '-' (the others are obsolete, e.g. slc4_ia32_gcc34). Throws
// pilot::Error naming `source` when the text is not such a document.
std::vector<std::string> parse_platforms_list(std::string_view json, std::string_view source);

// Every key of the embedded list, in its order (old-style names included).
std::span<const std::string_view> embedded_platforms_list_keys();

struct PlatformsList {
  std::vector<std::string> tags;
  std::string source;                 // a path, or "embedded"
  std::vector<std::string> warnings;  // a CVMFS copy that could not be used
};

// `explicit_file` wins and its errors throw; a broken CVMFS copy (root/kCvmfsPlatformsList) falls
// back to the embedded list with a warning, so a bad CVMFS publication cannot stop a pilot.
PlatformsList load_platforms_list(const std::filesystem::path& root,
                                  const std::optional<std::filesystem::path>& explicit_file);

}  // namespace pilot::platform
