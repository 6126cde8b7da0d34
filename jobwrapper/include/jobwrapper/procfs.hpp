#pragma once
// Readers of procfs for the process-tree tracker. All take the procfs root so tests can feed
// fixture trees; absent processes (they exit at any time) are nullopt, never errors.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::jobwrapper {

struct ProcStat {
  pid_t pid = 0;
  char state = '?';  // 'Z' zombie, 'X' dead
  pid_t ppid = 0;
  pid_t pgid = 0;
  pid_t sid = 0;
  std::uint64_t utime = 0;  // clock ticks
  std::uint64_t stime = 0;
  std::uint64_t cutime = 0;  // of waited-for children
  std::uint64_t cstime = 0;
  std::uint64_t starttime = 0;  // ticks after boot
  std::uint64_t vsize = 0;      // bytes
  std::uint64_t rss_pages = 0;
  bool gone() const { return state == 'Z' || state == 'X' || state == 'x'; }
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
// Throws pilot::Error naming the text when it is malformed.
ProcStat parse_proc_stat(std::string_view text);
std::optional<ProcStat> read_proc_stat(const std::filesystem::path& proc_root, pid_t pid);

// Numeric entries of the procfs root.
std::vector<pid_t> list_pids(const std::filesystem::path& proc_root);

// "Pss:" of /proc/<pid>/smaps_rollup in bytes; nullopt if the line is missing.
std::optional<std::uint64_t> parse_smaps_rollup_pss(std::string_view text);
std::optional<std::uint64_t> read_pss_bytes(const std::filesystem::path& proc_root, pid_t pid);

// Whether /proc/<pid>/environ holds exactly `entry` ("KEY=VALUE"); false when unreadable.
bool environ_contains(const std::filesystem::path& proc_root, pid_t pid, std::string_view entry);

// The leader of the payload's process group (the wrapper starts the payload as one): a live
// process that leads its group and whose environment holds `entry`. A pilot killed between
// starting its payload and recording the pid leaves only this way to find it.
std::optional<pid_t> find_group_leader_with_environ(const std::filesystem::path& proc_root,
                                                    std::string_view entry);

// The 1-minute load average from /proc/loadavg.
std::optional<double> read_load_average(const std::filesystem::path& proc_root);

long clock_ticks_per_second();
long page_size_bytes();

}  // namespace pilot::jobwrapper
