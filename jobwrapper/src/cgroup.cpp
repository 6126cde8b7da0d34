#include "jobwrapper/cgroup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobwrapper/environment.hpp"

namespace pilot::jobwrapper {
namespace {

std::optional<std::string> read_optional(const std::filesystem::path& p) {
  try {
    return read_file(p, 1 << 20);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::optional<std::uint64_t> read_number(const std::filesystem::path& p) {
  auto t = read_optional(p);
  if (!t) return std::nullopt;
  std::uint64_t v = 0;
  auto end = t->find_first_of(" \n");
  auto r = std::from_chars(t->data(), t->data() + (end == std::string::npos ? t->size() : end), v);
  if (r.ec != std::errc()) return std::nullopt;
  return v;
}

bool usable(const std::filesystem::path& dir) {
  return ::access(dir.c_str(), W_OK) == 0 && ::access((dir / "cgroup.procs").c_str(), W_OK) == 0;
}

std::filesystem::path below(const std::filesystem::path& base, const std::string& path) {
  return base / std::filesystem::path(path).relative_path();
}

}  // namespace

FsKind fs_kind(const std::filesystem::path& path) {
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return FsKind::missing;
  if (static_cast<unsigned long>(sf.f_type) == CGROUP2_SUPER_MAGIC) return FsKind::cgroup2;
  if (static_cast<unsigned long>(sf.f_type) == CGROUP_SUPER_MAGIC) return FsKind::cgroup1;
  if (static_cast<unsigned long>(sf.f_type) == TMPFS_MAGIC) return FsKind::tmpfs;
  return FsKind::other;
}

std::optional<CgroupPlace> find_cgroup_place(const std::filesystem::path& root,
                                             std::string_view proc_self_cgroup, FsKind root_kind,
                                             FsKind unified_kind) {
  auto members = parse_proc_cgroup(proc_self_cgroup);
  auto v2_line = [&]() -> const CgroupMembership* {
    for (const auto& m : members)
      if (m.hierarchy == 0 && m.controllers.empty()) return &m;
    return nullptr;
  }();
  if (root_kind == FsKind::cgroup2) {
    if (v2_line && v2_line->path != "/" && usable(below(root, v2_line->path)))
      return CgroupPlace{CgroupVersion::v2, below(root, v2_line->path), ""};
    return std::nullopt;
  }
  if (root_kind != FsKind::tmpfs) return std::nullopt;
  if (unified_kind == FsKind::cgroup2 && v2_line && v2_line->path != "/" &&
      usable(below(root / "unified", v2_line->path)))
    return CgroupPlace{CgroupVersion::v2, below(root / "unified", v2_line->path), "unified"};
  for (const char* want : {"memory", "pids", "cpuacct", "freezer"}) {
    for (const auto& m : members) {
      if (std::find(m.controllers.begin(), m.controllers.end(), want) == m.controllers.end())
        continue;
      if (m.path == "/") continue;
      // Debian mounts co-mounted controllers as "cpu,cpuacct" with per-controller symlinks.
      std::string joined;
      for (const auto& c : m.controllers) joined += (joined.empty() ? "" : ",") + c;
      for (const std::string& name : {std::string(want), joined}) {
        auto dir = below(root / name, m.path);
        if (!usable(dir)) continue;
        // A non-hierarchical v1 memory cgroup would take the payload out of the batch system's
        // memory limit.
        if (std::string_view(want) == "memory" && read_number(dir / "memory.use_hierarchy") == 0u)
          continue;
        return CgroupPlace{CgroupVersion::v1, dir, name};
      }
    }
  }
  return std::nullopt;
}

std::optional<CgroupPlace> find_own_cgroup_place(const std::filesystem::path& cgroup_root,
                                                 const std::filesystem::path& proc_root) {
  auto self = read_file(proc_root / "self" / "cgroup");
  if (!self) return std::nullopt;
  return find_cgroup_place(cgroup_root, *self, fs_kind(cgroup_root),
                           fs_kind(cgroup_root / "unified"));
}

std::optional<std::uint64_t> flat_keyed_value(std::string_view text, std::string_view key) {
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    auto line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line.size() <= key.size() || !line.starts_with(key) || line[key.size()] != ' ') continue;
    auto v = line.substr(key.size() + 1);
    std::uint64_t n = 0;
    if (std::from_chars(v.data(), v.data() + v.size(), n).ec != std::errc()) return std::nullopt;
    return n;
  }
  return std::nullopt;
}

JobCgroup::JobCgroup(const CgroupPlace& place, std::string_view name)
    : dir_(place.dir / std::string(name)), version_(place.version) {
  if (::mkdir(dir_.c_str(), 0755) != 0)
    throw_errno("cannot create job cgroup " + dir_.string(), errno);
}

std::optional<JobCgroup> JobCgroup::adopt(std::string_view tracking) {
  CgroupVersion version;
  if (tracking.starts_with("cgroup2 ")) {
    version = CgroupVersion::v2;
  } else if (tracking.starts_with("cgroup1 ")) {
    version = CgroupVersion::v1;
  } else {
    return std::nullopt;
  }
  std::filesystem::path dir(tracking.substr(8));
  if (!dir.is_absolute() || !dir.filename().string().starts_with("pilot-job-")) return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return std::nullopt;
  return JobCgroup(std::move(dir), version);
}

JobCgroup::JobCgroup(JobCgroup&& o) noexcept : dir_(std::move(o.dir_)), version_(o.version_) {
  o.dir_.clear();
}

JobCgroup::~JobCgroup() {
  remove();
}

std::string JobCgroup::describe() const {
  return std::string(version_ == CgroupVersion::v2 ? "cgroup2 " : "cgroup1 ") + dir_.string();
}

int JobCgroup::open_procs_for_join() const {
  int fd = ::open((dir_ / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open " + (dir_ / "cgroup.procs").string(), errno);
  return fd;
}

std::vector<pid_t> JobCgroup::pids() const {
  std::vector<pid_t> out;
  auto t = read_optional(dir_ / "cgroup.procs");
  if (!t) return out;
  std::string_view s(*t);
  for (std::size_t pos = 0; pos < s.size();) {
    auto eol = s.find('\n', pos);
    if (eol == std::string_view::npos) eol = s.size();
    pid_t p = 0;
    if (std::from_chars(s.data() + pos, s.data() + eol, p).ec == std::errc() && p > 0)
      out.push_back(p);
    pos = eol + 1;
  }
  return out;
}

std::optional<std::uint64_t> JobCgroup::memory_bytes() const {
  return read_number(dir_ /
                     (version_ == CgroupVersion::v2 ? "memory.current" : "memory.usage_in_bytes"));
}

std::optional<std::uint64_t> JobCgroup::memory_peak_bytes() const {
  return read_number(dir_ /
                     (version_ == CgroupVersion::v2 ? "memory.peak" : "memory.max_usage_in_bytes"));
}

std::optional<std::uint64_t> JobCgroup::oom_kills() const {
  auto t = read_optional(dir_ /
                         (version_ == CgroupVersion::v2 ? "memory.events" : "memory.oom_control"));
  if (!t) return std::nullopt;
  return flat_keyed_value(*t, "oom_kill");
}

std::optional<JobCgroup::Cpu> JobCgroup::cpu() const {
  if (version_ != CgroupVersion::v2) return std::nullopt;
  auto t = read_optional(dir_ / "cpu.stat");
  if (!t) return std::nullopt;
  auto u = flat_keyed_value(*t, "user_usec");
  auto s = flat_keyed_value(*t, "system_usec");
  if (!u || !s) return std::nullopt;
  return Cpu{static_cast<double>(*u) / 1e6, static_cast<double>(*s) / 1e6};
}

bool JobCgroup::kill_all() const {
  if (version_ != CgroupVersion::v2) return false;
  UniqueFd fd(::open((dir_ / "cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
  return fd && ::write(fd.get(), "1", 1) == 1;
}

bool JobCgroup::remove() {
  if (dir_.empty()) return true;
  // Processes that have just been killed may take a moment to leave the cgroup.
  for (int i = 0; i < 20; ++i) {
    if (::rmdir(dir_.c_str()) == 0 || errno == ENOENT) {
      dir_.clear();
      return true;
    }
    if (errno != EBUSY) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<std::filesystem::path> remove_abandoned_job_cgroups(
    const CgroupPlace& place, const std::filesystem::path& proc_root) {
  std::vector<std::filesystem::path> removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(place.dir, ec)) {
    // Named "pilot-job-<job marker>" by the supervisor.
    auto name = entry.path().filename().string();
    constexpr std::string_view prefix = "pilot-job-";
    if (!name.starts_with(prefix)) continue;
    auto pilot = marker_pilot(std::string_view(name).substr(prefix.size()));
    if (!pilot) continue;
    const pid_t pid = *pilot;
    if (pid == ::getpid() || !entry.is_directory(ec)) continue;
    if (std::filesystem::exists(proc_root / std::to_string(pid), ec)) continue;
    auto procs = read_optional(entry.path() / "cgroup.procs");
    if (procs && procs->find_first_not_of(" \n") != std::string::npos) continue;
    if (::rmdir(entry.path().c_str()) == 0) removed.push_back(entry.path());
  }
  return removed;
}

}  // namespace pilot::jobwrapper
