#pragma once
// Microarchitectures as LbPlatformUtils 4.5.1 names them (ARCH_DEFS), and the psABI x86-64 levels.
// The LHCb names decide job matching, so their table and order are copied exactly, quirks
// included: its x86_64_vN are not the psABI levels, and cannonlake lacks clwb.

#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

using FlagSet = std::set<std::string, std::less<>>;

struct ArchDef {
  std::string_view name;
  FlagSet flags;
};

// ARCH_DEFS, most capable first (the order every list below keeps).
std::span<const ArchDef> arch_defs();
// The flag set of an ARCH_DEFS name, or nullptr if the name is not in the table.
const FlagSet* arch_flags(std::string_view name);

// Whether ARCH_DEFS[have] contains every flag of ARCH_DEFS[need]; false if either is not a name.
bool arch_includes(std::string_view have, std::string_view need);

// Names whose flag set is a subset of `host_flags` (what a host with these flags runs).
std::vector<std::string> supported_archs(const FlagSet& host_flags);
// Names whose flag set contains all of `target_flags` (hosts that run code needing these flags).
std::vector<std::string> compatible_archs(const FlagSet& target_flags);

// architecture(): the first supported name (or, with `minimum`, the last); when nothing matches,
// `machine`, or "unknown" if that is empty.
std::string architecture(const FlagSet& host_flags, std::string_view machine, bool minimum);

// The most capable of x86_64_v4, x86_64_v3, x86_64_v2, x86_64 among the supported ARCH_DEFS
// names (what LbPlatformUtils' table implies), or nullopt.
std::optional<std::string> x86_64_level_derived(const FlagSet& host_flags);
// The psABI level by the standard definition (x86-64 psABI: v1 baseline, v2, v3, v4), spelt like
// the LHCb names ("x86_64", "x86_64_v2", ...); nullopt when the flags do not even give v1.
std::optional<std::string> x86_64_psabi_level(const FlagSet& host_flags);

}  // namespace pilot::platform
