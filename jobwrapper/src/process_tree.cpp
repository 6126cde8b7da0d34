#include "jobwrapper/process_tree.hpp"

#include <signal.h>

#include <algorithm>

#include "jobwrapper/cgroup.hpp"

namespace pilot::jobwrapper {

ProcessTree::ProcessTree(std::filesystem::path proc_root, pid_t root, std::string marker_entry,
                         const JobCgroup* cgroup)
    : proc_root_(std::move(proc_root)),
      root_(root),
      marker_entry_(std::move(marker_entry)),
      cgroup_(cgroup) {
  if (auto st = read_proc_stat(proc_root_, root_)) root_starttime_ = st->starttime;
}

bool ProcessTree::belongs(const ProcStat& st, const std::map<pid_t, Member>& found) {
  if (st.pid == root_) return !root_final_ && st.starttime == root_starttime_;
  if (auto it = members_.find(st.pid); it != members_.end() && it->second.starttime == st.starttime)
    return true;
  if (members_.count(st.ppid) || found.count(st.ppid) || st.pgid == root_ || st.sid == root_)
    return true;
  auto key = std::make_pair(st.pid, st.starttime);
  if (strangers_.count(key)) return false;
  if (environ_contains(proc_root_, st.pid, marker_entry_)) return true;
  strangers_.insert(key);
  return false;
}

void ProcessTree::refresh(bool with_memory) {
  const double ticks = static_cast<double>(clock_ticks_per_second());
  std::vector<ProcStat> seen;  // candidates, alive or zombie
  std::vector<pid_t> listed = cgroup_ ? cgroup_->pids() : list_pids(proc_root_);
  for (pid_t pid : listed) {
    std::optional<ProcStat> st;
    try {
      st = read_proc_stat(proc_root_, pid);
    } catch (const std::exception&) {
      continue;  // a garbled entry is not ours to judge; the next scan retries
    }
    if (!st) continue;
    if (!cgroup_ && pid != root_ && st->starttime < root_starttime_) continue;
    seen.push_back(*st);
  }
  // Parents start before their children: one pass in start order follows whole chains.
  std::sort(seen.begin(), seen.end(), [](const ProcStat& a, const ProcStat& b) {
    return a.starttime != b.starttime ? a.starttime < b.starttime : a.pid < b.pid;
  });
  std::map<pid_t, Member> now;
  std::map<pid_t, ProcStat> alive_stats;
  for (const auto& st : seen) {
    if (!cgroup_ && !belongs(st, now)) continue;
    Member m{st.starttime, st.ppid, st.utime + st.cutime, st.stime + st.cstime};
    if (st.gone()) {
      // A zombie's counters are final; account for it below as ended.
      if (auto it = members_.find(st.pid); it != members_.end()) it->second = m;
      continue;
    }
    now[st.pid] = m;
    alive_stats[st.pid] = st;
  }
  for (const auto& [pid, m] : members_) {
    if (now.count(pid) || pid == root_) continue;
    // Its parent (if still ours) will count it through cutime/cstime once it reaps it.
    if (now.count(m.ppid)) continue;
    ended_user_s_ += static_cast<double>(m.user_ticks) / ticks;
    ended_system_s_ += static_cast<double>(m.system_ticks) / ticks;
  }
  members_ = std::move(now);
  if (!cgroup_) {
    std::erase_if(strangers_, [&](const auto& k) {
      return std::none_of(seen.begin(), seen.end(), [&](const ProcStat& s) {
        return s.pid == k.first && s.starttime == k.second;
      });
    });
  }

  TreeUsage u;
  u.processes = members_.size();
  u.cpu_user_s = ended_user_s_;
  u.cpu_system_s = ended_system_s_;
  if (root_final_) {
    u.cpu_user_s += root_final_->first;
    u.cpu_system_s += root_final_->second;
  }
  const auto page = static_cast<std::uint64_t>(page_size_bytes());
  for (const auto& [pid, st] : alive_stats) {
    if (pid == root_ && root_final_) continue;
    u.cpu_user_s += static_cast<double>(st.utime + st.cutime) / ticks;
    u.cpu_system_s += static_cast<double>(st.stime + st.cstime) / ticks;
    u.rss_bytes += st.rss_pages * page;
    u.vsize_bytes += st.vsize;
    if (with_memory) {
      auto pss = read_pss_bytes(proc_root_, pid);
      u.pss_bytes += pss ? *pss : st.rss_pages * page;
    }
  }
  if (cgroup_) {
    if (auto c = cgroup_->cpu()) {
      u.cpu_user_s = std::max(u.cpu_user_s, c->user_s);
      u.cpu_system_s = std::max(u.cpu_system_s, c->system_s);
    }
    u.cgroup_memory_bytes = cgroup_->memory_bytes();
    u.cgroup_memory_peak_bytes = cgroup_->memory_peak_bytes();
    u.oom_kills = cgroup_->oom_kills();
  }
  if (!with_memory) u.pss_bytes = usage_.pss_bytes;  // keep the last measured value
  usage_ = u;
}

std::vector<pid_t> ProcessTree::alive() const {
  std::vector<pid_t> out;
  for (const auto& [pid, m] : members_) out.push_back(pid);
  return out;
}

void ProcessTree::root_ended(double user_s, double system_s) {
  root_final_ = std::make_pair(user_s, system_s);
  members_.erase(root_);
}

std::size_t ProcessTree::signal_all(int sig) {
  refresh(false);
  std::size_t n = 0;
  for (const auto& [pid, m] : members_)
    if (::kill(pid, sig) == 0) ++n;
  if (sig == SIGKILL && cgroup_) cgroup_->kill_all();
  return n;
}

}  // namespace pilot::jobwrapper
