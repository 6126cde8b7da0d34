#pragma once
// Binary tags (ARCH[+opt]-OS-COMPILER[+ext]-BUILD) and DIRAC platforms (ARCH-OS[.micro]): what a
// tag requires, what a platform can run, and the platforms that satisfy a requirement, by the
// rules of LbPlatformUtils 4.5.1.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

// The platform ("arch-os") a binary tag needs. Throws pilot::Error naming the tag when it has
// fewer than three '-' separated fields.
std::string requires_platform(std::string_view binary_tag);

struct Platform {
  std::string arch;
  std::string os;
};
// "x86_64-centos7.avx2" -> {x86_64_v3, centos7}. Throws pilot::Error naming the string when it
// has no '-'.
Platform parse_platform(std::string_view platform);

// Whether a host of platform `current` runs binaries that need platform `required`.
bool can_run(std::string_view current, std::string_view required);

// Every platform that satisfies `required`, most capable first: "any" before the concrete OSes.
std::vector<std::string> compatible_platforms(std::string_view required);

// The least demanding platform that runs one tag of every position. Each position lists
// alternative binary tags; tags without '-' (old style) are unusable, so a position with only
// those gives nullopt. With several combinations, the winner is the candidate the most
// candidates can run (ties: the first found, in input order).
std::optional<std::string> lowest_common_requirement(
    const std::vector<std::vector<std::string>>& positions);

// "base+f1+f2" -> the least capable ARCH_DEFS name having base's flags plus f1, f2; `base` when
// none has them all, and the input itself when it has no '+'.
std::string promote_arch(std::string_view arch);

}  // namespace pilot::platform
