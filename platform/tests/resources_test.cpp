#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "node_files.hpp"
#include "platform/resources.hpp"

using namespace pilot::platform;
namespace fs = std::filesystem;
using pilot::test::put_file;

TEST_CASE("kernel CPU lists") {
  CHECK(count_cpu_list("0-3,8,10-11\n") == 7);
  CHECK(count_cpu_list("5") == 1);
  CHECK_FALSE(count_cpu_list(""));
  CHECK_FALSE(count_cpu_list("3-1"));
  CHECK_FALSE(count_cpu_list("a-b"));
  CHECK_FALSE(count_cpu_list("0-99999999999"));
}

TEST_CASE("affinity from /proc/self/status under the root, or the live process") {
  pilot::TempDir root;
  CHECK_FALSE(affinity_cpus(root.path()));
  put_file(root.path() / "proc/self/status",
           "Name:\tx\nCpus_allowed:\tf\nCpus_allowed_list:\t0-1,4\n");
  CHECK(affinity_cpus(root.path()) == 3);
  auto live = affinity_cpus("/");
  REQUIRE(live);
  CHECK(*live >= 1);
}

TEST_CASE("cgroup v2: the tightest cpu.max and memory.max up the hierarchy") {
  pilot::TempDir root;
  auto cg = root.path() / "sys/fs/cgroup";
  put_file(root.path() / "proc/self/cgroup", "0::/job/step\n");
  put_file(cg / "cgroup.controllers", "cpu memory\n");
  CHECK_FALSE(cgroup_cpu_quota(root.path()));
  CHECK_FALSE(cgroup_memory_limit(root.path()));
  put_file(cg / "job/cpu.max", "250000 100000\n");
  put_file(cg / "job/step/cpu.max", "max 100000\n");
  put_file(cg / "job/memory.max", "8589934592\n");
  put_file(cg / "job/step/memory.max", "4294967296\n");
  CHECK(cgroup_cpu_quota(root.path()) == Approx(2.5));
  CHECK(cgroup_memory_limit(root.path()) == 4294967296ULL);
  put_file(cg / "job/step/memory.max", "max\n");
  CHECK(cgroup_memory_limit(root.path()) == 8589934592ULL);
}

TEST_CASE("cgroup v1: cfs quota over period, memory.limit_in_bytes, unlimited ignored") {
  pilot::TempDir root;
  auto cg = root.path() / "sys/fs/cgroup";
  put_file(root.path() / "proc/self/cgroup",
           "4:memory:/slot1\n3:cpu,cpuacct:/slot1\n1:name=systemd:/\n");
  put_file(cg / "cpu,cpuacct/slot1/cpu.cfs_quota_us", "400000\n");
  put_file(cg / "cpu,cpuacct/slot1/cpu.cfs_period_us", "100000\n");
  put_file(cg / "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  put_file(cg / "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  put_file(cg / "memory/slot1/memory.limit_in_bytes", "9223372036854771712\n");
  put_file(cg / "memory/memory.limit_in_bytes", "2147483648\n");
  CHECK(cgroup_cpu_quota(root.path()) == Approx(4.0));
  CHECK(cgroup_memory_limit(root.path()) == 2147483648ULL);
}

TEST_CASE("garbage cgroup and meminfo files are ignored") {
  pilot::TempDir root;
  put_file(root.path() / "proc/self/cgroup", "\xff\xfe garbage\n::::\n");
  put_file(root.path() / "sys/fs/cgroup/cgroup.controllers", "");
  put_file(root.path() / "sys/fs/cgroup/cpu.max", "lots of nothing\n");
  put_file(root.path() / "proc/meminfo", "MemTotal: many kB\n");
  CHECK_FALSE(cgroup_cpu_quota(root.path()));
  CHECK_FALSE(cgroup_memory_limit(root.path()));
  CHECK_FALSE(mem_total(root.path()));
  put_file(root.path() / "proc/meminfo", "MemFree: 1 kB\nMemTotal:       24683656 kB\n");
  CHECK(mem_total(root.path()) == 24683656ULL * 1024);
}

TEST_CASE("usable CPUs: the smallest known limit") {
  CpuCounts c;
  c.logical = 64;
  c.affinity = 16;
  c.cgroup_quota = 7.5;
  settle_usable(c);
  CHECK(c.usable == 7);
  c.batch = 4;
  settle_usable(c);
  CHECK(c.usable == 4);
  CpuCounts tiny;
  tiny.cgroup_quota = 0.5;
  settle_usable(tiny);
  CHECK(tiny.usable == 1);
  CpuCounts none;
  settle_usable(none);
  CHECK_FALSE(none.usable);
}

TEST_CASE("NVIDIA GPUs from the driver and from PCI sysfs") {
  pilot::TempDir root;
  CHECK(nvidia_gpus(root.path()).empty());
  put_file(root.path() / "proc/driver/nvidia/gpus/0000:3B:00.0/information",
           "Model: \t\t Tesla V100-PCIE-32GB\nIRQ:   \t\t 88\n");
  auto pci = root.path() / "sys/bus/pci/devices";
  put_file(pci / "0000:3b:00.0/vendor", "0x10de\n");
  put_file(pci / "0000:3b:00.0/class", "0x030200\n");
  put_file(pci / "0000:d8:00.0/vendor", "0x10de\n");
  put_file(pci / "0000:d8:00.0/class", "0x030000\n");
  put_file(pci / "0000:00:1f.3/vendor", "0x10de\n");  // NVIDIA audio function: not a GPU
  put_file(pci / "0000:00:1f.3/class", "0x040300\n");
  put_file(pci / "0000:00:02.0/vendor", "0x8086\n");
  put_file(pci / "0000:00:02.0/class", "0x030000\n");
  auto gpus = nvidia_gpus(root.path());
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[0].pci_address == "0000:3b:00.0");
  CHECK(gpus[0].model == "Tesla V100-PCIE-32GB");
  CHECK(gpus[0].driver);
  CHECK(gpus[1].pci_address == "0000:d8:00.0");
  CHECK(gpus[1].model.empty());
  CHECK_FALSE(gpus[1].driver);
}

TEST_CASE("CVMFS repositories from the mount table and the /cvmfs listing") {
  pilot::TempDir root;
  CHECK(cvmfs_repositories(root.path()).empty());
  put_file(root.path() / "proc/self/mounts",
           "proc /proc proc rw 0 0\ncvmfs2 /cvmfs/lhcb.cern.ch fuse ro 0 0\n"
           "cvmfs2 /cvmfs/grid.cern.ch fuse ro 0 0\n/dev/sda1 /cvmfs/not.cvmfs ext4 rw 0 0\n");
  fs::create_directories(root.path() / "cvmfs/lhcb-condb.cern.ch");
  fs::create_directories(root.path() / "cvmfs/lhcb.cern.ch");
  CHECK(cvmfs_repositories(root.path()) ==
        std::vector<std::string>{"grid.cern.ch", "lhcb-condb.cern.ch", "lhcb.cern.ch"});
}

TEST_CASE("glibc version from the libc-<ver>.so link name or the banner in libc.so.6") {
  pilot::TempDir root;
  CHECK_FALSE(glibc_version(root.path(), "x86_64"));
  put_file(root.path() / "lib64/libc-2.17.so", "not really a library");
  fs::create_symlink("libc-2.17.so", root.path() / "lib64/libc.so.6");
  CHECK(glibc_version(root.path(), "x86_64") == "2.17");
  pilot::TempDir modern;
  static const char kLibc[] =
      "\x7f"
      "ELF junk\0\0release version x\0GNU C Library (GNU libc) stable release version 2.39.\n";
  put_file(modern.path() / "lib/aarch64-linux-gnu/libc.so.6", std::string(kLibc, sizeof kLibc - 1));
  CHECK(glibc_version(modern.path(), "aarch64") == "2.39");
  CHECK_FALSE(glibc_version(modern.path(), "x86_64"));
  auto live = glibc_version("/", "x86_64");
  CHECK(live);  // the build machine is Debian 12: its real libc.so.6 is an ELF with a .rodata
}

TEST_CASE("free disk of a directory") {
  pilot::TempDir dir;
  auto d = disk_space(dir.path());
  REQUIRE(d);
  CHECK(d->total_bytes > 0);
  CHECK(d->free_bytes <= d->total_bytes);
  CHECK_FALSE(disk_space(dir.path() / "absent"));
}
