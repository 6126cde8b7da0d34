#include "platform/os_id.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "text.hpp"

namespace pilot::platform {

OsRelease parse_os_release(std::string_view content) {
  // Later keys win, like the dict LbPlatformUtils builds.
  std::map<std::string, std::string, std::less<>> release;
  for (auto line : text::lines(content)) {
    auto stripped = text::strip(line);
    auto eq = stripped.find('=');
    if (eq == std::string_view::npos) continue;
    auto value = text::strip(text::strip(stripped.substr(eq + 1), "\""), "'");
    release[std::string(stripped.substr(0, eq))] = std::string(value);
  }
  auto get = [&](std::string_view key, std::string_view fallback) {
    auto it = release.find(key);
    return it == release.end() ? std::string(fallback) : it->second;
  };
  OsRelease r;
  auto id = get("ID", "linux");
  r.name = id.substr(0, id.find('-'));
  auto compatible = r.name + get("ID_LIKE", "");
  if (compatible.find("rhel") != std::string::npos ||
      compatible.find("suse") != std::string::npos) {
    auto v = get("VERSION_ID", "");
    r.version = v.substr(0, v.find('.'));
  } else {
    r.version = text::remove_char(get("VERSION_ID", r.name == "debian" ? "testing" : ""), '.');
  }
  if (r.name == "scientific") r.name = "sl";
  return r;
}

OsRelease parse_system_release(std::string_view content) {
  OsRelease r{"unknown", ""};
  // re.match(r'(.*) release (\d+)'): '.' stops at the first newline and the greedy '(.*)' takes
  // the last " release <digits>" of that first line.
  auto line = content.substr(0, content.find('\n'));
  constexpr std::string_view kSep = " release ";
  for (auto pos = line.rfind(kSep); pos != std::string_view::npos;
       pos = pos == 0 ? std::string_view::npos : line.rfind(kSep, pos - 1)) {
    auto digits = pos + kSep.size();
    auto end = digits;
    while (end < line.size() && std::isdigit(static_cast<unsigned char>(line[end]))) ++end;
    if (end == digits) continue;
    auto fullname = line.substr(0, pos);
    r.version = std::string(line.substr(digits, end - digits));
    if (fullname.find("CERN") != std::string_view::npos) {
      r.name = "slc";
    } else if (fullname.find("Scientific Linux") != std::string_view::npos) {
      r.name = "sl";
    } else if (fullname.find("CentOS") != std::string_view::npos) {
      r.name = "centos";
    } else if (fullname.find("Red Hat Enterprise Linux") != std::string_view::npos) {
      r.name = "rhel";
    }
    break;
  }
  return r;
}

OsRelease parse_lsb_release(std::string_view content) {
  OsRelease r{"unknown", ""};
  for (auto line : text::lines(content)) {
    if (line.starts_with("DISTRIB_ID=")) {
      r.name = text::lower(text::strip(line).substr(11));
    } else if (line.starts_with("DISTRIB_RELEASE=")) {
      r.version = text::remove_char(text::strip(line).substr(16), '.');
    }
  }
  return r;
}

OsId read_os_id(const std::filesystem::path& root,
                const std::optional<std::string>& force_host_os) {
  OsId out;
  if (force_host_os) {
    out.raw = *force_host_os;
    out.source = "force_host_os";
    return out;
  }
  struct Source {
    const char* path;
    OsRelease (*parse)(std::string_view);
    bool skip_empty;
  };
  static constexpr Source kSources[] = {{"etc/os-release", parse_os_release, true},
                                        {"etc/redhat-release", parse_system_release, false},
                                        {"etc/lsb-release", parse_lsb_release, false}};
  out.raw = "unknown";
  out.source = "none";
  for (const auto& s : kSources) {
    auto path = root / s.path;
    std::optional<std::string> content;
    try {
      content = read_file(path, 1 << 20);
    } catch (const Error& e) {
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) continue;
      out.warnings.push_back(std::string(e.what()) + " (OS id reported as unknown)");
      out.source = "/" + std::string(s.path);
      return out;
    }
    if (!content || (s.skip_empty && content->empty())) continue;
    out.parsed = s.parse(*content);
    out.raw = out.parsed->id();
    out.source = "/" + std::string(s.path);
    return out;
  }
  return out;
}

const Aliases& os_aliases() {
  static const Aliases aliases = {
      {"el9", {"rhel9", "almalinux9", "rocky9"}},
      {"centos8", {"rhel8"}},
      {"centos7", {"sl7", "rhel7", "opensuse42", "scientific7"}},
      {"slc6", {"sl6", "centos6", "rhel6"}},
      {"slc5", {"sl5", "centos5", "rhel5"}},
      {"ubuntu1604", {}},
      {"ubuntu1610", {}},
      {"ubuntu1704", {}},
      {"ubuntu1710", {}},
      {"ubuntu1804", {}},
      {"ubuntu1810", {}},
      {"ubuntu1904", {}},
  };
  return aliases;
}

const CompatibilityMap& os_compatibility() {
  static const CompatibilityMap map = {
      {"el9", {}}, {"centos8", {}}, {"centos7", {}}, {"slc6", {"slc5"}}, {"slc5", {"slc4"}},
  };
  return map;
}

std::string normal_name(std::string_view name, const Aliases& aliases, std::string_view fallback) {
  for (const auto& [key, _] : aliases)
    if (key == name) return key;
  for (const auto& [key, names] : aliases)
    if (std::find(names.begin(), names.end(), name) != names.end()) return key;
  return std::string(fallback.empty() ? name : fallback);
}

namespace {

bool compatible(std::string_view a, std::string_view b, const CompatibilityMap& map,
                std::vector<std::string_view>& visiting) {
  if (a == "any" || a == b) return true;
  auto it = map.find(a);
  if (it == map.end()) return false;
  const auto& allowed = it->second;
  auto listed = [&](std::string_view x) {
    return std::find(allowed.begin(), allowed.end(), x) != allowed.end();
  };
  if (listed("!" + std::string(b))) return false;
  if (listed(b)) return true;
  // A cycle in the map would recurse forever in LbPlatformUtils; here it is a dead end.
  if (std::find(visiting.begin(), visiting.end(), a) != visiting.end()) return false;
  visiting.push_back(a);
  bool ok = std::any_of(allowed.begin(), allowed.end(), [&](const std::string& f) {
    return !f.starts_with('!') && compatible(f, b, map, visiting);
  });
  visiting.pop_back();
  return ok;
}

}  // namespace

bool check_compatibility(std::string_view a, std::string_view b, const CompatibilityMap& map) {
  std::vector<std::string_view> visiting;
  return compatible(a, b, map, visiting);
}

}  // namespace pilot::platform
