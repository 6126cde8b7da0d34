#pragma once
// cgroups for job tracking: find where the pilot may create a child cgroup (below its own, never
// at a hierarchy root; cgroup v2 preferred, else a v1 hierarchy), and own one job cgroup. Every
// function takes the cgroup mount root so tests can use fixture trees.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proc_cgroup.hpp"

namespace pilot::jobwrapper {

// /proc/<pid>/cgroup is read by core's parser, refusing malformed lines.
using pilot::CgroupMembership;
using pilot::parse_proc_cgroup;

enum class CgroupVersion { v1, v2 };
enum class FsKind { cgroup2, cgroup1, tmpfs, other, missing };

// statfs() of a path, as far as cgroup detection cares.
FsKind fs_kind(const std::filesystem::path& path);

struct CgroupPlace {
  CgroupVersion version = CgroupVersion::v2;
  std::filesystem::path dir;  // the pilot's own cgroup directory
  std::string hierarchy;      // "unified" / "" for v2, the v1 controller directory ("memory")
};

// Where a job cgroup can be created. `root_kind` is fs_kind(cgroup_root): cgroup2 means a pure v2
// host; tmpfs means v1 hierarchies in sub-directories and possibly cgroup2 at `unified`
// (`unified_kind`). Candidates, in order: v2, then v1 memory, pids, cpuacct, freezer. A candidate
// is used only when the pilot's path in it is not "/" and the directory is writable.
std::optional<CgroupPlace> find_cgroup_place(const std::filesystem::path& cgroup_root,
                                             std::string_view proc_self_cgroup, FsKind root_kind,
                                             FsKind unified_kind);

// find_cgroup_place for this process: its membership read from <proc_root>/self/cgroup, the kinds
// of `cgroup_root` and its `unified` directory from statfs. nullopt when the membership cannot be
// read or no place is usable.
std::optional<CgroupPlace> find_own_cgroup_place(const std::filesystem::path& cgroup_root,
                                                 const std::filesystem::path& proc_root);

// "KEY VALUE" lines (memory.events, cpu.stat, memory.oom_control): the value of `key`.
std::optional<std::uint64_t> flat_keyed_value(std::string_view text, std::string_view key);

// Job cgroups lost pilots created but never recorded (killed between creating one and writing
// job.json): the `pilot-job-<pid>-*` directories of `place` whose pilot <pid> is gone
// (<proc_root>/<pid> absent) and that hold no process, removed. One with processes is left
// alone: they are a job's. Returns the directories removed.
std::vector<std::filesystem::path> remove_abandoned_job_cgroups(
    const CgroupPlace& place, const std::filesystem::path& proc_root);

// One job's cgroup: created on construction, removed (once empty) on destruction.
class JobCgroup {
 public:
  // Creates `place.dir/name`; throws pilot::Error naming the directory when it cannot.
  JobCgroup(const CgroupPlace& place, std::string_view name);
  // The job cgroup a lost pilot's record names in its `tracking` ("cgroup2 <dir>"), taken over
  // so the recovering pilot sees its members and removes it once empty. nullopt for /proc
  // tracking, a directory already gone, or one that is not a job cgroup (a damaged record must
  // not make the pilot signal or remove anything else).
  static std::optional<JobCgroup> adopt(std::string_view tracking);
  JobCgroup(JobCgroup&& o) noexcept;
  JobCgroup& operator=(JobCgroup&&) = delete;
  JobCgroup(const JobCgroup&) = delete;
  ~JobCgroup();

  const std::filesystem::path& dir() const { return dir_; }
  CgroupVersion version() const { return version_; }
  std::string describe() const;  // "cgroup2 /sys/fs/cgroup/x/pilot-job-..." for the record

  // A descriptor of cgroup.procs opened O_CLOEXEC for a child to write "0" into before exec.
  int open_procs_for_join() const;
  std::vector<pid_t> pids() const;
  std::optional<std::uint64_t> memory_bytes() const;
  std::optional<std::uint64_t> memory_peak_bytes() const;
  std::optional<std::uint64_t> oom_kills() const;
  struct Cpu {
    double user_s = 0;
    double system_s = 0;
  };
  std::optional<Cpu> cpu() const;  // v2 cpu.stat (also without the cpu controller)
  // v2 cgroup.kill (kills orphans too); false when the kernel has none.
  bool kill_all() const;
  // Removes the directory if it is empty; true on success (or when already gone).
  bool remove();

 private:
  JobCgroup(std::filesystem::path dir, CgroupVersion version)
      : dir_(std::move(dir)), version_(version) {}

  std::filesystem::path dir_;
  CgroupVersion version_;
};

}  // namespace pilot::jobwrapper
