#include "platform/cpuinfo.hpp"

#include <set>
#include <utility>

#include "text.hpp"

namespace pilot::platform {
namespace {

// "key<whitespace>: value" -> key matches, value after the first ':'.
bool field(std::string_view line, std::string_view key, std::string_view& value) {
  if (!line.starts_with(key)) return false;
  auto rest = line.substr(key.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos || !text::strip(rest.substr(0, colon)).empty()) return false;
  value = rest.substr(colon + 1);
  return true;
}

}  // namespace

CpuInfo parse_cpuinfo(std::string_view content, std::string_view machine) {
  CpuInfo info;
  bool have_model = false;
  std::set<std::pair<std::string, std::string>> cores;
  std::string physical_id, core_id;
  bool any_core_id = false;
  auto end_block = [&] {
    if (!core_id.empty()) cores.emplace(physical_id, core_id);
    physical_id.clear();
    core_id.clear();
  };
  for (auto line : text::lines(content)) {
    std::string_view v;
    // LbPlatformUtils takes the first line that merely starts with "flags"/"Features" (so
    // "vmx flags" and "bugs" never count); a line without ':' would crash it, we skip it.
    if (!info.has_flags_line && (line.starts_with("flags") || line.starts_with("Features"))) {
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        info.has_flags_line = true;
        for (auto& f : text::split_ws(line.substr(colon + 1))) info.flags.insert(std::move(f));
        if (!machine.empty()) info.flags.emplace(machine);
      }
    }
    if (!have_model && line.starts_with("model name")) {
      auto colon = line.find(':');
      if (colon != std::string_view::npos) {
        info.model = std::string(text::strip(line.substr(colon + 1)));
        have_model = true;
      }
    }
    if (info.vendor.empty() && field(line, "vendor_id", v)) info.vendor = text::strip(v);
    if (field(line, "processor", v)) {
      end_block();
      ++info.logical;
    } else if (field(line, "physical id", v)) {
      physical_id = text::strip(v);
    } else if (field(line, "core id", v)) {
      core_id = text::strip(v);
      any_core_id = true;
    }
  }
  end_block();
  if (any_core_id) info.physical = static_cast<int>(cores.size());
  return info;
}

}  // namespace pilot::platform
