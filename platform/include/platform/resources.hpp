#pragma once
// What a pilot needs to know about a node beyond LbPlatformUtils: CPUs it may really use, memory,
// disk, GPUs, CVMFS, glibc. Every reader takes the root directory of the node's file system.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

// "0-3,8,10-11" (a kernel CPU list) -> 7; nullopt if malformed.
std::optional<int> count_cpu_list(std::string_view list);

// CPUs in this process's affinity mask: Cpus_allowed_list of root/proc/self/status; for the live
// root "/" without that file, sched_getaffinity().
std::optional<int> affinity_cpus(const std::filesystem::path& root);

// The tightest cgroup CPU quota (quota/period, in CPUs) on the path of root/proc/self/cgroup up
// to the hierarchy's root: cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us.
std::optional<double> cgroup_cpu_quota(const std::filesystem::path& root);
// The tightest cgroup memory limit: v2 memory.max, or v1 memory.limit_in_bytes.
std::optional<std::uint64_t> cgroup_memory_limit(const std::filesystem::path& root);

// MemTotal of root/proc/meminfo, in bytes.
std::optional<std::uint64_t> mem_total(const std::filesystem::path& root);
// MemAvailable of root/proc/meminfo, in bytes (what DIRAC's Watchdog reports as Memory(MB)).
std::optional<std::uint64_t> mem_available(const std::filesystem::path& root);

struct CpuCounts {
  int logical = 0;  // processors in /proc/cpuinfo
  std::optional<int> physical;
  std::optional<int> affinity;
  std::optional<double> cgroup_quota;
  std::optional<int> batch;
  std::optional<int>
      usable;  // the smallest of the known limits (a fractional quota rounds down, at least 1)
};
void settle_usable(CpuCounts& cpus);

struct MemoryInfo {
  std::optional<std::uint64_t> total_bytes;
  std::optional<std::uint64_t> cgroup_limit_bytes;
  std::optional<std::uint64_t> usable_bytes;
};

struct DiskInfo {
  std::string path;
  std::uint64_t free_bytes = 0;  // available to unprivileged users
  std::uint64_t total_bytes = 0;
};
// statvfs of `dir`; nullopt if it cannot be queried.
std::optional<DiskInfo> disk_space(const std::filesystem::path& dir);

struct Gpu {
  std::string pci_address;  // "0000:3b:00.0"
  std::string model;        // from the NVIDIA driver, "" when only PCI knows the card
  bool driver = false;      // listed under /proc/driver/nvidia/gpus
};
// NVIDIA GPUs: root/proc/driver/nvidia/gpus/<addr>/information, and PCI devices of vendor 0x10de
// with a display class (0x03xxxx) in root/sys/bus/pci/devices; sorted by address.
std::vector<Gpu> nvidia_gpus(const std::filesystem::path& root);

// CVMFS repositories mounted (cvmfs2 entries of root/proc/self/mounts) or listed in root/cvmfs,
// sorted. Nothing inside /cvmfs is opened, so no autofs mount is triggered.
std::vector<std::string> cvmfs_repositories(const std::filesystem::path& root);

// The node's glibc version ("2.36"): from the name of libc-<ver>.so that libc.so.6 links to, or
// the "release version" banner inside libc.so.6, in the usual library directories under root.
std::optional<std::string> glibc_version(const std::filesystem::path& root,
                                         std::string_view machine);

}  // namespace pilot::platform
