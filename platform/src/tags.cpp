#include "platform/tags.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "core/error.hpp"
#include "platform/archs.hpp"
#include "platform/os_id.hpp"
#include "text.hpp"

namespace pilot::platform {

std::string promote_arch(std::string_view arch) {
  auto plus = arch.find('+');
  if (plus == std::string_view::npos) return std::string(arch);
  auto base = arch.substr(0, plus);
  FlagSet flags;
  for (auto f : text::split(arch.substr(plus + 1), '+')) flags.emplace(f);
  if (const auto* defs = arch_flags(base)) flags.insert(defs->begin(), defs->end());
  auto archs = compatible_archs(flags);
  return archs.empty() ? std::string(base) : archs.back();
}

std::string requires_platform(std::string_view binary_tag) {
  auto fields = text::split(binary_tag, '-');
  if (fields.size() < 3)
    throw Error("binary tag '" + std::string(binary_tag) +
                "' has fewer than three '-' separated fields (expected ARCH-OS-COMPILER-BUILD)");
  std::string arch(fields[0]);
  auto os = fields[1];
  auto comp = fields[2];
  if ((comp.starts_with("gcc") || comp.starts_with("clang")) && arch.starts_with("x86_64")) {
    // gcc 3.4 to 6.2 used two digits (gcc49, gcc62); later ones one or two (gcc7, gcc13), so
    // those get a 0 appended before comparing with 60 (gcc >= 6: SSE4.2 baseline).
    auto b = std::find_if(comp.begin(), comp.end(),
                          [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    auto e = std::find_if(b, comp.end(),
                          [](char c) { return !std::isdigit(static_cast<unsigned char>(c)); });
    if (b != e) {
      std::string number(b, e);
      if (number[0] < '3' || number[0] > '6') number += '0';
      // Compare as numbers without overflow: more digits than "60" means larger.
      auto significant = number.substr(std::min(number.find_first_not_of('0'), number.size()));
      if (significant.size() > 2 || (significant.size() == 2 && significant >= "60"))
        arch += "+sse4_2";
    }
  }
  return promote_arch(arch) + "-" + std::string(os);
}

Platform parse_platform(std::string_view platform) {
  auto dash = platform.find('-');
  if (dash == std::string_view::npos)
    throw Error("platform '" + std::string(platform) + "' has no '-' (expected ARCH-OS)");
  Platform p{std::string(platform.substr(0, dash)), std::string(platform.substr(dash + 1))};
  auto dot = p.os.find('.');
  if (dot != std::string::npos) {
    auto micro = p.os.substr(dot + 1);
    p.os.resize(dot);
    p.arch = promote_arch(p.arch + "+" + micro);
  }
  return p;
}

bool can_run(std::string_view current, std::string_view required) {
  auto cur = parse_platform(current);
  auto req = parse_platform(required);
  for (const auto* s : {&cur.arch, &cur.os, &req.arch, &req.os})
    if (*s == "unknown") return false;
  if (!check_compatibility(cur.os, req.os, os_compatibility())) return false;
  if (cur.arch == req.arch) return true;
  // An arch outside ARCH_DEFS has no flags and needs the flag "unknown": only equal names match.
  return arch_includes(cur.arch, req.arch);
}

namespace {

std::vector<long long> integers_in(std::string_view s) {
  std::vector<long long> out;
  for (std::size_t i = 0; i < s.size();) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) {
      ++i;
      continue;
    }
    long long v = 0;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
      v = std::min(v * 10 + (s[i] - '0'), 1LL << 60);
    out.push_back(v);
  }
  return out;
}

}  // namespace

std::vector<std::string> compatible_platforms(std::string_view required) {
  auto req = parse_platform(required);
  const auto* req_flags = arch_flags(req.arch);
  if (req.arch == "unknown" || req.os == "unknown" || !req_flags) return {};
  auto archs = compatible_archs(*req_flags);
  std::vector<std::string> oses;
  for (const auto& [name, _] : os_compatibility()) oses.push_back(name);
  if (std::find(oses.begin(), oses.end(), req.os) == oses.end()) oses.push_back(req.os);
  // Sorted by the integers in the names, highest first (el9, centos8, centos7, slc6, ...).
  std::stable_sort(oses.begin(), oses.end(), [](const std::string& a, const std::string& b) {
    return integers_in(a) > integers_in(b);
  });
  oses.insert(oses.begin(), "any");
  std::vector<std::string> out;
  for (const auto& os : oses) {
    if (!check_compatibility(os, req.os, os_compatibility())) continue;
    for (const auto& arch : archs) out.push_back(arch + "-" + os);
  }
  return out;
}

std::optional<std::string> lowest_common_requirement(
    const std::vector<std::vector<std::string>>& positions) {
  // Usable alternatives per position, duplicates removed, input order kept.
  std::vector<std::vector<std::string>> usable;
  for (const auto& alternatives : positions) {
    std::vector<std::string> keep;
    for (const auto& tag : alternatives)
      if (tag.find('-') != std::string::npos &&
          std::find(keep.begin(), keep.end(), tag) == keep.end())
        keep.push_back(tag);
    if (keep.empty()) return std::nullopt;
    usable.push_back(std::move(keep));
  }
  if (usable.empty()) return std::nullopt;

  std::map<std::string, std::vector<std::string>> platforms_of;  // tag -> compatible platforms
  auto platforms = [&](const std::string& tag) -> const std::vector<std::string>& {
    auto it = platforms_of.find(tag);
    if (it == platforms_of.end())
      it = platforms_of.emplace(tag, compatible_platforms(requires_platform(tag))).first;
    return it->second;
  };

  std::vector<std::string> candidates;
  std::set<std::set<std::string>> seen;  // a combination is a set of tags
  std::vector<std::size_t> index(usable.size(), 0);
  for (bool done = false; !done;) {
    std::set<std::string> combination;
    for (std::size_t i = 0; i < usable.size(); ++i) combination.insert(usable[i][index[i]]);
    if (seen.insert(combination).second) {
      std::optional<std::vector<std::string>> what;
      for (std::size_t i = 0; i < usable.size(); ++i) {
        const auto& tag = usable[i][index[i]];
        const auto& mine = platforms(tag);
        if (!what) {
          what = mine;
        } else {
          std::vector<std::string> both;
          for (const auto& p : mine)
            if (std::find(what->begin(), what->end(), p) != what->end()) both.push_back(p);
          what = std::move(both);
        }
      }
      if (what && !what->empty() &&
          std::find(candidates.begin(), candidates.end(), what->back()) == candidates.end())
        candidates.push_back(what->back());
    }
    // Next combination, last position fastest (itertools.product order).
    std::size_t pos = usable.size();
    for (;;) {
      if (pos == 0) break;
      --pos;
      if (++index[pos] < usable[pos].size()) break;
      index[pos] = 0;
      if (pos == 0) {
        done = true;
        break;
      }
    }
  }
  if (candidates.empty()) return std::nullopt;
  const std::string* best = nullptr;
  long best_score = -1;
  for (const auto& b : candidates) {
    long score = 0;
    for (const auto& a : candidates) score += can_run(a, b) ? 1 : 0;
    if (score > best_score) {
      best_score = score;
      best = &b;
    }
  }
  return *best;
}

}  // namespace pilot::platform
