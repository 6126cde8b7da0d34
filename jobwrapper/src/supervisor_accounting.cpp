// What the job used: the record's counters and the heartbeat's values.

#include <algorithm>

#include "jobwrapper/procfs.hpp"
#include "jobwrapper/workdir_probe.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::account() {
  const auto& u = tree->usage();
  // Monotonic: a process that ends between samples must not make the job "un-use" CPU.
  if (u.cpu_s() > cpu_s) {
    cpu_s = u.cpu_s();
    cpu_user_s = u.cpu_user_s;
    cpu_sys_s = u.cpu_system_s;
  }
  rec.cpu_seconds = cpu_s;
  rec.cpu_user_seconds = cpu_user_s;
  rec.cpu_system_seconds = cpu_sys_s;
  rec.max_pss_bytes = std::max(rec.max_pss_bytes, u.pss_bytes);
  rec.max_rss_bytes = std::max(rec.max_rss_bytes, u.rss_bytes);
  rec.max_vsize_bytes = std::max(rec.max_vsize_bytes, u.vsize_bytes);
  if (u.cgroup_memory_peak_bytes || u.cgroup_memory_bytes)
    rec.cgroup_max_memory_bytes =
        std::max({rec.cgroup_max_memory_bytes.value_or(0), u.cgroup_memory_peak_bytes.value_or(0),
                  u.cgroup_memory_bytes.value_or(0)});
  if (u.oom_kills) rec.oom_kills = u.oom_kills;
  rec.wall_seconds = wall();
}

Heartbeat Supervisor::State::heartbeat() const {
  Heartbeat h;
  h.cpu_consumed_s = cpu_s;
  h.wall_clock_s = wall() * std::max(1, spec.processors);
  if (tree) {
    const auto& u = tree->usage();
    h.memory_used_mb = static_cast<double>(u.rss_bytes) / 1048576.0;
    h.vsize_mb = static_cast<double>(u.vsize_bytes) / 1048576.0;
  }
  h.load_average = read_load_average(spec.proc_root);
  if (auto f = free_disk_bytes(spec.workdir))
    h.available_disk_mb = static_cast<double>(*f) / (1024.0 * 1024.0);
  if (started) h.standard_output = read_keeper_peek(spec.workdir, spec.stdout_name);
  return h;
}

}  // namespace pilot::jobwrapper
