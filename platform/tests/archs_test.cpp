#include <catch2/catch.hpp>

#include "platform/archs.hpp"
#include "platform/cpuinfo.hpp"

using namespace pilot::platform;

namespace {
FlagSet with(std::string_view arch, std::initializer_list<const char*> extra = {},
             std::initializer_list<const char*> without = {}) {
  FlagSet f = *arch_flags(arch);
  for (auto e : extra) f.insert(e);
  for (auto w : without) f.erase(w);
  return f;
}
}  // namespace

TEST_CASE("ARCH_DEFS keeps LbPlatformUtils' order, most capable first") {
  std::vector<std::string> names;
  for (const auto& d : arch_defs()) names.emplace_back(d.name);
  CHECK(names == std::vector<std::string>{"cannonlake", "skylake_avx512", "x86_64_v4", "skylake",
                                          "broadwell", "haswell", "x86_64_v3", "ivybridge",
                                          "sandybridge", "westmere", "nehalem", "x86_64_v2",
                                          "core2", "x86_64", "armv8.3_a", "armv8.2_a", "armv8.1_a",
                                          "armv8_a", "aarch64"});
  CHECK(*arch_flags("x86_64_v3") == *arch_flags("haswell"));
  CHECK(*arch_flags("x86_64_v2") == *arch_flags("nehalem"));
  CHECK(*arch_flags("x86_64_v4") == *arch_flags("skylake_avx512"));
  CHECK(arch_flags("i686") == nullptr);
}

TEST_CASE("cannonlake has no clwb, so it cannot run x86_64_v4 code") {
  CHECK_FALSE(arch_flags("cannonlake")->count("clwb"));
  CHECK(arch_flags("cannonlake")->count("avx512vbmi"));
  CHECK_FALSE(arch_includes("cannonlake", "x86_64_v4"));
  CHECK_FALSE(arch_includes("cannonlake", "skylake_avx512"));
  CHECK(arch_includes("cannonlake", "skylake"));
  CHECK(arch_includes("skylake_avx512", "x86_64_v4"));
  CHECK_FALSE(arch_includes("haswell", "newarch"));
  // A cannonlake host is reported cannonlake, and its derived level stays x86_64_v3.
  auto host = with("cannonlake");
  CHECK(architecture(host, "x86_64", false) == "cannonlake");
  CHECK(x86_64_level_derived(host) == "x86_64_v3");
}

TEST_CASE("architecture is the first supported name, minimum the last, no flags: the machine") {
  auto haswell = with("haswell", {"fpu", "vme"});
  CHECK(architecture(haswell, "x86_64", false) == "haswell");  // never x86_64_v3
  CHECK(architecture(haswell, "x86_64", true) == "x86_64");
  CHECK(supported_archs(haswell).front() == "haswell");
  CHECK(architecture({}, "x86_64", false) == "x86_64");
  CHECK(architecture({}, "", false) == "unknown");
  CHECK(architecture({"dummy"}, "ppc64le", false) == "ppc64le");
  CHECK(supported_archs({"dummy"}).empty());
  auto arm = with("armv8.2_a", {"fphp"});
  CHECK(architecture(arm, "aarch64", false) == "armv8.2_a");
  CHECK(architecture(arm, "aarch64", true) == "aarch64");
}

TEST_CASE("compatible_archs lists the names containing the flags") {
  auto all_x86 = compatible_archs({"x86_64"});
  CHECK(all_x86.size() == 14);
  CHECK(all_x86.back() == "x86_64");
  CHECK(compatible_archs({"avx2", "fma", "x86_64"}).back() == "x86_64_v3");
  CHECK(compatible_archs({"vecwid256"}).empty());
  CHECK(compatible_archs({"asimdrdm"}) ==
        std::vector<std::string>{"armv8.3_a", "armv8.2_a", "armv8.1_a"});
}

TEST_CASE("the psABI level follows the standard definition, not ARCH_DEFS") {
  FlagSet base{"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2", "x86_64"};
  CHECK(x86_64_psabi_level(base) == "x86_64");
  CHECK_FALSE(x86_64_psabi_level({"x86_64"}));
  auto nehalem = with("nehalem", {"lm", "cmov", "cx8", "fpu", "fxsr", "syscall"});
  // ARCH_DEFS' nehalem does not ask for cx16/lahf_lm; the psABI's v2 does.
  CHECK(x86_64_level_derived(nehalem) == "x86_64_v2");
  CHECK(x86_64_psabi_level(nehalem) == "x86_64");
  nehalem.insert({"cx16", "lahf_lm"});
  CHECK(x86_64_psabi_level(nehalem) == "x86_64_v2");
  auto skx = with("skylake_avx512", {"lm", "cmov", "cx8", "fpu", "fxsr", "syscall", "cx16",
                                     "lahf_lm", "abm", "xsave"});
  CHECK(x86_64_psabi_level(skx) == "x86_64_v4");
}

TEST_CASE("cpuinfo: the first flags/Features line, plus the machine") {
  auto info = parse_cpuinfo(
      "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Some CPU  \nphysical id\t: 0\n"
      "core id\t: 0\nflags\t\t: sse sse2\nvmx flags\t: ept\nbugs\t: spectre\n\n"
      "processor\t: 1\nphysical id\t: 0\ncore id\t: 0\nflags\t\t: avx512f\n",
      "x86_64");
  CHECK(info.flags == FlagSet{"sse", "sse2", "x86_64"});
  CHECK(info.model == "Some CPU");
  CHECK(info.vendor == "GenuineIntel");
  CHECK(info.logical == 2);
  CHECK(info.physical == 1);
  auto arm = parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd\nCPU part\t: 0xd0c\n", "aarch64");
  CHECK(arm.flags == FlagSet{"fp", "asimd", "aarch64"});
  CHECK(arm.model == "unknown");
  CHECK_FALSE(arm.physical);
}

TEST_CASE("cpuinfo without a flags line gives no flags at all, not even the machine") {
  auto info = parse_cpuinfo("processor\t: 0\nmodel name\t: unknown\n", "x86_64");
  CHECK(info.flags.empty());
  CHECK_FALSE(info.has_flags_line);
  std::string junk("\x00\xff\xfe flags", 9);
  junk += "\n\x01\x02:::\nflags\n";
  auto garbage = parse_cpuinfo(junk, "x86_64");  // "flags" without ':' is skipped
  CHECK(garbage.flags.empty());
  CHECK(garbage.logical == 0);
}
