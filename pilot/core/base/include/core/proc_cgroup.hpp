#pragma once
// /proc/<pid>/cgroup, the one parser for the job wrapper (where to put a job's cgroup) and the
// platform probe (which limits apply to this process). Lines: "4:memory,pids:/batch/job42"
// (cgroup v1) or "0::/batch/job42" (the v2 line); the path may itself hold ':'.

#include <string>
#include <string_view>
#include <vector>

namespace pilot {

struct CgroupMembership {
  int hierarchy = 0;
  std::vector<std::string> controllers;  // empty for the v2 line
  std::string path;                      // starts with '/'
};

// What a line that is not "<number>:<controllers>:/<path>" does: the job wrapper must not guess
// where a job goes (refuse), the probe reports what the other lines tell (skip).
enum class MalformedLines { refuse, skip };

// Throws pilot::Error naming the line when `malformed` is refuse.
std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text,
                                                MalformedLines malformed = MalformedLines::refuse);

}  // namespace pilot
