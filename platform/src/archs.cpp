#include "platform/archs.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>

namespace pilot::platform {
namespace {

FlagSet plus(const FlagSet& base, std::initializer_list<std::string_view> add,
             std::initializer_list<std::string_view> remove = {}) {
  FlagSet s = base;
  for (auto r : remove) s.erase(std::string(r));
  for (auto a : add) s.emplace(a);
  return s;
}

std::vector<ArchDef> make_defs() {
  // Built in capability order, then listed most capable first.
  FlagSet x86_64{"x86_64"};
  FlagSet core2 = plus(x86_64, {"mmx", "sse", "sse2", "pni", "ssse3"});
  FlagSet nehalem = plus(core2, {"sse4_1", "sse4_2", "popcnt"});
  FlagSet westmere = plus(nehalem, {"aes", "pclmulqdq"});
  FlagSet sandybridge = plus(westmere, {"avx"});
  FlagSet ivybridge = plus(sandybridge, {"fsgsbase", "rdrand", "f16c"});
  FlagSet haswell = plus(ivybridge, {"movbe", "avx2", "fma", "bmi1", "bmi2"});
  FlagSet broadwell = plus(haswell, {"rdseed", "adx", "3dnowprefetch"});
  FlagSet skylake = plus(broadwell, {"clflushopt", "xsavec"});
  FlagSet skylake_avx512 =
      plus(skylake, {"pku", "clwb", "avx512f", "avx512vl", "avx512bw", "avx512dq", "avx512cd"});
  FlagSet cannonlake =
      plus(skylake_avx512, {"avx512vbmi", "avx512ifma", "sha_ni", "umip"}, {"clwb"});
  FlagSet aarch64{"aarch64"};
  FlagSet armv8_a = plus(aarch64, {"fp", "asimd", "evtstrm", "aes", "pmull", "sha1", "sha2"});
  FlagSet armv8_1_a = plus(armv8_a, {"crc32", "atomics", "asimdrdm"});
  FlagSet armv8_2_a = plus(armv8_1_a, {"dcpop"});
  FlagSet armv8_3_a = plus(armv8_2_a, {"jscvt", "lrcpc"});
  return {
      {"cannonlake", cannonlake},
      {"skylake_avx512", skylake_avx512},
      {"x86_64_v4", skylake_avx512},
      {"skylake", skylake},
      {"broadwell", broadwell},
      {"haswell", haswell},
      {"x86_64_v3", haswell},
      {"ivybridge", ivybridge},
      {"sandybridge", sandybridge},
      {"westmere", westmere},
      {"nehalem", nehalem},
      {"x86_64_v2", nehalem},
      {"core2", core2},
      {"x86_64", x86_64},
      {"armv8.3_a", armv8_3_a},
      {"armv8.2_a", armv8_2_a},
      {"armv8.1_a", armv8_1_a},
      {"armv8_a", armv8_a},
      {"aarch64", aarch64},
  };
}

// The flags of the table as bits, so the subset tests that every tag check makes are one AND.
// `extra`: the set also holds flags no ARCH_DEFS entry knows.
struct Mask {
  std::uint64_t bits = 0;
  bool extra = false;
};

struct Table {
  std::vector<ArchDef> defs;
  std::vector<std::string_view> known;  // sorted; index = bit
  std::vector<Mask> masks;              // parallel to defs
};

Mask mask_of(const FlagSet& flags, const std::vector<std::string_view>& known) {
  Mask m;
  for (const auto& f : flags) {
    auto it = std::lower_bound(known.begin(), known.end(), std::string_view(f));
    if (it == known.end() || *it != f) {
      m.extra = true;
    } else {
      m.bits |= std::uint64_t{1} << (it - known.begin());
    }
  }
  return m;
}

const Table& table() {
  static const Table t = [] {  // immutable after first use
    Table t;
    t.defs = make_defs();
    std::set<std::string_view> known;
    for (const auto& d : t.defs) known.insert(d.flags.begin(), d.flags.end());
    t.known.assign(known.begin(), known.end());
    for (const auto& d : t.defs) t.masks.push_back(mask_of(d.flags, t.known));
    return t;
  }();
  return t;
}

// Is every flag of `small` in `big`?
bool subset(const Mask& small, const Mask& big) {
  return !small.extra && (small.bits & ~big.bits) == 0;
}

bool has_all(const FlagSet& flags, std::initializer_list<std::string_view> need) {
  return std::all_of(need.begin(), need.end(), [&](auto f) { return flags.count(f) > 0; });
}

}  // namespace

std::span<const ArchDef> arch_defs() {
  return table().defs;
}

const FlagSet* arch_flags(std::string_view name) {
  for (const auto& d : arch_defs())
    if (d.name == name) return &d.flags;
  return nullptr;
}

std::vector<std::string> supported_archs(const FlagSet& host_flags) {
  const auto& t = table();
  auto host = mask_of(host_flags, t.known);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < t.defs.size(); ++i)
    if (subset(t.masks[i], host)) out.emplace_back(t.defs[i].name);
  return out;
}

std::vector<std::string> compatible_archs(const FlagSet& target_flags) {
  const auto& t = table();
  auto target = mask_of(target_flags, t.known);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < t.defs.size(); ++i)
    if (subset(target, t.masks[i])) out.emplace_back(t.defs[i].name);
  return out;
}

bool arch_includes(std::string_view have, std::string_view need) {
  const auto& t = table();
  const Mask* h = nullptr;
  const Mask* n = nullptr;
  for (std::size_t i = 0; i < t.defs.size(); ++i) {
    if (t.defs[i].name == have) h = &t.masks[i];
    if (t.defs[i].name == need) n = &t.masks[i];
  }
  return h && n && subset(*n, *h);
}

std::string architecture(const FlagSet& host_flags, std::string_view machine, bool minimum) {
  if (!host_flags.empty()) {
    auto archs = supported_archs(host_flags);
    if (!archs.empty()) return minimum ? archs.back() : archs.front();
  }
  return machine.empty() ? std::string("unknown") : std::string(machine);
}

std::optional<std::string> x86_64_level_derived(const FlagSet& host_flags) {
  auto archs = supported_archs(host_flags);
  for (std::string_view level : {"x86_64_v4", "x86_64_v3", "x86_64_v2", "x86_64"})
    if (std::find(archs.begin(), archs.end(), level) != archs.end()) return std::string(level);
  return std::nullopt;
}

std::optional<std::string> x86_64_psabi_level(const FlagSet& f) {
  // /proc/cpuinfo spells LZCNT "abm" and has no OSXSAVE/OSFXSR; "lm" marks 64-bit mode.
  if (!has_all(f, {"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"}))
    return std::nullopt;
  if (!has_all(f, {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"})) return "x86_64";
  if (!has_all(f, {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}))
    return "x86_64_v2";
  if (!has_all(f, {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})) return "x86_64_v3";
  return "x86_64_v4";
}

}  // namespace pilot::platform
