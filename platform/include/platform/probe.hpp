#pragma once
// The whole node probe: the LbPlatformUtils 4.5.1 strings (dirac_platform, host_os,
// host_binary_tag, compatible binary tags, container technology) and what a pilot needs besides,
// with the two output formats users parse (lb-describe-platform text, JSON).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/containers.hpp"
#include "platform/cpuinfo.hpp"
#include "platform/os_id.hpp"
#include "platform/resources.hpp"

namespace pilot::platform {

inline constexpr const char* kLbPlatformUtilsVersion = "4.5.1";

struct ProbeOptions {
  std::filesystem::path root = "/";    // the node's file system (tests: a fixture tree)
  std::optional<std::string> machine;  // overrides uname -m
  std::string cc = "cc";               // $CC
  std::optional<std::filesystem::path> compiler_cache;  // see cached_compiler_id(); none: no cache
  std::optional<std::string> force_host_os;
  std::optional<std::filesystem::path> platforms_list;  // explicit list file
  bool allow_containers = false;        // dirac_platform "<arch>-any" with a usable runtime
  bool containers = true;               // run the container runtime check at all
  std::filesystem::path workdir = ".";  // whose free disk is reported
  // The processors the batch system allocated, as the caller found them
  // (mjf::processors_from_environment owns that rule; the platform does not read batch
  // environments, so `pilot platform` and `pilot features` cannot disagree).
  std::optional<int> batch_cpus;
};

// The LbPlatformUtils strings of the host, without the platforms list or containers: what
// `lb-host-binary-tag` needs. Runs `$CC -v` once.
struct HostIds {
  std::string machine;
  CpuInfo cpu;
  std::vector<std::string> supported_archs;
  std::string arch, arch_minimum;
  OsId os;
  std::string os_id;     // normalised when it is a known alias, raw otherwise (host_os uses it)
  std::string dirac_os;  // normalised, "unknown" when not a reference OS (dirac_platform uses it)
  std::string compiler_id;
  std::string host_os() const { return arch + "-" + os_id; }
  std::string host_os_minimum() const { return arch_minimum + "-" + os_id; }
  std::string host_binary_tag() const { return host_os() + "-" + compiler_id + "-opt"; }
  std::string host_binary_tag_minimum() const {
    return host_os_minimum() + "-" + compiler_id + "-opt";
  }
  std::vector<std::string> warnings;
};
HostIds probe_host_ids(const ProbeOptions& options);

struct ContainerTags {
  std::string runtime;
  std::vector<std::pair<std::string, std::vector<std::string>>> images;  // image path -> tags
};

struct PlatformInfo {
  HostIds ids;
  std::string dirac_platform;
  std::vector<std::string> compatible_binary_tags;
  std::string platforms_list_source;
  std::vector<ContainerTags> container_technology;  // runtimes with usable images only
  std::optional<std::string> x86_64_level;          // psABI
  std::optional<std::string> x86_64_level_derived;  // from ARCH_DEFS
  CpuCounts cpus;
  MemoryInfo memory;
  std::optional<DiskInfo> disk;
  std::vector<Gpu> gpus;
  std::vector<std::string> cvmfs;
  std::optional<std::string> glibc;
  std::optional<std::string> dirac_core_platform;  // DIRAC's Linux_<machine>_glibc-<version>
  std::vector<std::string> warnings;               // inputs that could not be used
};

// Throws pilot::Error only for an explicit platforms list that cannot be used; every node file
// that is absent, unreadable or garbage gives the documented fallback and, if unexpected, a
// warning.
PlatformInfo probe(const ProbeOptions& options);

// The lb-describe-platform text (same keys, same order), ending with a newline.
std::string render_text(const PlatformInfo& info, bool with_flags);
nlohmann::ordered_json to_json(const PlatformInfo& info);

}  // namespace pilot::platform
