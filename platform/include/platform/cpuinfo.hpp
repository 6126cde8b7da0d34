#pragma once
// What /proc/cpuinfo says about the CPU, read the way LbPlatformUtils reads it.

#include <optional>
#include <string>
#include <string_view>

#include "platform/archs.hpp"

namespace pilot::platform {

struct CpuInfo {
  // The first line starting with "flags" (x86) or "Features" (aarch64), split on whitespace after
  // its first ':', plus `machine`. Empty when there is no such line: then nothing matches.
  FlagSet flags;
  bool has_flags_line = false;
  std::string model = "unknown";  // first "model name" line
  std::string vendor;             // first "vendor_id" line (x86), "" elsewhere
  int logical = 0;                // "processor" entries
  std::optional<int> physical;    // distinct (physical id, core id) pairs, when present
};

// Never throws: garbage gives empty flags and "unknown" model.
CpuInfo parse_cpuinfo(std::string_view text, std::string_view machine);

}  // namespace pilot::platform
