#include "platform/resources.hpp"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/filesystem_space.hpp"
#include "core/fs.hpp"
#include "core/proc_cgroup.hpp"
#include "text.hpp"

namespace pilot::platform {
namespace {

namespace fs = std::filesystem;

// A file that may be absent or unreadable: both mean "not known" for these optional facts.
std::optional<std::string> try_read(const fs::path& path, std::size_t max = 1 << 20) {
  try {
    return read_file(path, max);
  } catch (const Error&) {
    return std::nullopt;
  }
}

template <typename T>
std::optional<T> to_number(std::string_view s) {
  s = text::strip(s);
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct CgroupPaths {
  std::string v2;                                                    // path of the "0::" line
  std::vector<std::pair<std::vector<std::string>, std::string>> v1;  // controllers, path
};

CgroupPaths read_cgroup_paths(const fs::path& root) {
  CgroupPaths out;
  auto text = try_read(root / "proc/self/cgroup");
  if (!text) return out;
  for (auto& m : parse_proc_cgroup(*text, MalformedLines::skip)) {
    if (m.hierarchy == 0 && m.controllers.empty())
      out.v2 = m.path;
    else
      out.v1.emplace_back(std::move(m.controllers), m.path);
  }
  return out;
}

// Directories from the process's cgroup up to the hierarchy root. When the cgroup directory is
// not visible (a cgroup namespace), only the root is.
std::vector<fs::path> cgroup_chain(const fs::path& base, std::string_view path) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(base, ec)) return out;
  fs::path rel = fs::path(std::string(path)).relative_path().lexically_normal();
  for (;;) {
    auto dir = rel.empty() || rel == "." ? base : base / rel;
    if (fs::is_directory(dir, ec)) out.push_back(dir);
    if (rel.empty() || rel == ".") break;
    rel = rel.parent_path();
  }
  return out;
}

bool is_v2(const fs::path& root) {
  std::error_code ec;
  return fs::exists(root / "sys/fs/cgroup/cgroup.controllers", ec);
}

std::optional<std::string> v1_path(const CgroupPaths& paths, std::string_view controller) {
  for (const auto& [controllers, path] : paths.v1)
    for (const auto& c : controllers)
      if (c == controller) return path;
  return std::nullopt;
}

std::optional<fs::path> v1_mount(const fs::path& root, std::initializer_list<const char*> names) {
  std::error_code ec;
  for (const char* n : names)
    if (fs::is_directory(root / "sys/fs/cgroup" / n, ec)) return root / "sys/fs/cgroup" / n;
  return std::nullopt;
}

bool pread_all(int fd, void* buf, std::size_t size, off_t offset) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

bool version_text(std::string_view v) {
  auto dot = v.find('.');
  return dot != std::string_view::npos && dot > 0 && dot + 1 < v.size() &&
         std::all_of(v.begin(), v.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// The "... release version 2.36." banner of a libc. Only .rodata is read when the file is a
// well-formed ELF64 (150 kB instead of 2 MB); otherwise the whole file, up to 64 MB.
std::optional<std::string> banner_version(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return std::nullopt;
  auto file_size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t offset = 0, size = std::min<std::uint64_t>(file_size, 64 << 20);
  Elf64_Ehdr eh{};
  if (pread_all(fd, &eh, sizeof eh, 0) && std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr) &&
      eh.e_shnum > 0 && eh.e_shnum < 4096 && eh.e_shstrndx < eh.e_shnum &&
      eh.e_shoff + std::uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr) <= file_size) {
    std::vector<Elf64_Shdr> sh(eh.e_shnum);
    const auto& names = sh[eh.e_shstrndx];
    if (pread_all(fd, sh.data(), sh.size() * sizeof(Elf64_Shdr), static_cast<off_t>(eh.e_shoff)) &&
        names.sh_size < (1 << 20) && names.sh_offset + names.sh_size <= file_size) {
      std::string strtab(names.sh_size, '\0');
      if (pread_all(fd, strtab.data(), strtab.size(), static_cast<off_t>(names.sh_offset))) {
        for (const auto& h : sh) {
          if (h.sh_name >= strtab.size() ||
              std::string_view(strtab.c_str() + h.sh_name) != ".rodata")
            continue;
          if (h.sh_offset + h.sh_size <= file_size) {
            offset = h.sh_offset;
            size = h.sh_size;
          }
          break;
        }
      }
    }
  }
  std::string data(size, '\0');
  if (!pread_all(fd, data.data(), data.size(), static_cast<off_t>(offset))) return std::nullopt;
  constexpr std::string_view kBanner = "release version ";
  std::string_view view(data);
  for (auto pos = view.find(kBanner); pos != std::string_view::npos;
       pos = view.find(kBanner, pos + 1)) {
    auto b = pos + kBanner.size();
    auto e = b;
    while (e < view.size() && e - b < 16 && (view[e] == '.' || (view[e] >= '0' && view[e] <= '9')))
      ++e;
    auto v = view.substr(b, e - b);
    while (!v.empty() && v.back() == '.') v.remove_suffix(1);
    if (version_text(v)) return std::string(v);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> count_cpu_list(std::string_view list) {
  list = text::strip(list);
  if (list.empty()) return std::nullopt;
  long n = 0;
  for (auto part : text::split(list, ',')) {
    auto dash = part.find('-');
    auto a = to_number<long>(part.substr(0, dash));
    auto b = dash == std::string_view::npos ? a : to_number<long>(part.substr(dash + 1));
    if (!a || !b || *b < *a || *b - *a > 1 << 20) return std::nullopt;
    n += *b - *a + 1;
    if (n > 1 << 20) return std::nullopt;
  }
  return static_cast<int>(n);
}

std::optional<int> affinity_cpus(const fs::path& root) {
  if (auto status = try_read(root / "proc/self/status")) {
    for (auto line : text::lines(*status))
      if (line.starts_with("Cpus_allowed_list:")) return count_cpu_list(line.substr(18));
  }
  if (root == "/") {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  }
  return std::nullopt;
}

std::optional<double> cgroup_cpu_quota(const fs::path& root) {
  auto paths = read_cgroup_paths(root);
  std::optional<double> best;
  auto consider = [&](double cpus) {
    if (cpus > 0 && (!best || cpus < *best)) best = cpus;
  };
  if (is_v2(root)) {
    for (const auto& dir : cgroup_chain(root / "sys/fs/cgroup", paths.v2)) {
      auto text = try_read(dir / "cpu.max");
      if (!text) continue;
      auto f = text::split_ws(*text);
      if (f.size() != 2 || f[0] == "max") continue;
      auto quota = to_number<double>(f[0]);
      auto period = to_number<double>(f[1]);
      if (quota && period && *period > 0) consider(*quota / *period);
    }
    return best;
  }
  auto path = v1_path(paths, "cpu");
  auto mount = v1_mount(root, {"cpu,cpuacct", "cpu", "cpuacct,cpu"});
  if (!path || !mount) return best;
  for (const auto& dir : cgroup_chain(*mount, *path)) {
    auto quota = try_read(dir / "cpu.cfs_quota_us");
    auto period = try_read(dir / "cpu.cfs_period_us");
    if (!quota || !period) continue;
    auto q = to_number<double>(*quota);
    auto p = to_number<double>(*period);
    if (q && p && *q > 0 && *p > 0) consider(*q / *p);
  }
  return best;
}

std::optional<std::uint64_t> cgroup_memory_limit(const fs::path& root) {
  auto paths = read_cgroup_paths(root);
  std::optional<std::uint64_t> best;
  auto consider = [&](std::uint64_t v) {
    // v1 writes "no limit" as a page-rounded LONG_MAX.
    if (v > 0 && v < (std::uint64_t{1} << 62) && (!best || v < *best)) best = v;
  };
  if (is_v2(root)) {
    for (const auto& dir : cgroup_chain(root / "sys/fs/cgroup", paths.v2))
      if (auto text = try_read(dir / "memory.max"))
        if (auto v = to_number<std::uint64_t>(*text)) consider(*v);
    return best;
  }
  auto path = v1_path(paths, "memory");
  auto mount = v1_mount(root, {"memory"});
  if (!path || !mount) return best;
  for (const auto& dir : cgroup_chain(*mount, *path))
    if (auto text = try_read(dir / "memory.limit_in_bytes"))
      if (auto v = to_number<std::uint64_t>(*text)) consider(*v);
  return best;
}

namespace {

// A "<key>: <n> kB" line of root/proc/meminfo, in bytes.
std::optional<std::uint64_t> meminfo_bytes(const fs::path& root, std::string_view key) {
  auto text = try_read(root / "proc/meminfo");
  if (!text) return std::nullopt;
  for (auto line : text::lines(*text)) {
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':') continue;
    auto f = text::split_ws(line.substr(key.size() + 1));
    if (f.empty()) return std::nullopt;
    auto kb = to_number<std::uint64_t>(f[0]);
    if (!kb || *kb > (std::uint64_t{1} << 53)) return std::nullopt;
    return *kb * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> mem_total(const fs::path& root) {
  return meminfo_bytes(root, "MemTotal");
}
std::optional<std::uint64_t> mem_available(const fs::path& root) {
  return meminfo_bytes(root, "MemAvailable");
}

void settle_usable(CpuCounts& c) {
  std::optional<int> u;
  auto take = [&](std::optional<int> v) {
    if (v && *v > 0 && (!u || *v < *u)) u = v;
  };
  take(c.logical > 0 ? std::optional<int>(c.logical) : std::nullopt);
  take(c.affinity);
  if (c.cgroup_quota)
    take(std::max(1, static_cast<int>(std::floor(std::min(*c.cgroup_quota, 1e6)))));
  take(c.batch);
  c.usable = u;
}

std::optional<DiskInfo> disk_space(const fs::path& dir) {
  auto s = filesystem_space(dir);
  if (!s) return std::nullopt;
  return DiskInfo{dir.string(), s->free_bytes, s->total_bytes};
}

std::vector<Gpu> nvidia_gpus(const fs::path& root) {
  std::vector<Gpu> out;
  auto find = [&](const std::string& addr) -> Gpu& {
    for (auto& g : out)
      if (g.pci_address == addr) return g;
    out.push_back({addr, "", false});
    return out.back();
  };
  std::error_code ec;
  for (fs::directory_iterator it(root / "proc/driver/nvidia/gpus", ec), end; !ec && it != end;
       it.increment(ec)) {
    auto& g = find(text::lower(it->path().filename().string()));
    g.driver = true;
    if (auto info = try_read(it->path() / "information")) {
      for (auto line : text::lines(*info)) {
        if (!line.starts_with("Model:")) continue;
        g.model = text::strip(line.substr(6));
        break;
      }
    }
  }
  ec.clear();
  for (fs::directory_iterator it(root / "sys/bus/pci/devices", ec), end; !ec && it != end;
       it.increment(ec)) {
    auto vendor = try_read(it->path() / "vendor", 64);
    if (!vendor || text::lower(text::strip(*vendor)) != "0x10de") continue;
    auto cls = try_read(it->path() / "class", 64);
    if (!cls || !text::lower(text::strip(*cls)).starts_with("0x03")) continue;
    find(text::lower(it->path().filename().string()));
  }
  std::sort(out.begin(), out.end(),
            [](const Gpu& a, const Gpu& b) { return a.pci_address < b.pci_address; });
  return out;
}

std::vector<std::string> cvmfs_repositories(const fs::path& root) {
  std::set<std::string> repos;
  auto mounts = try_read(root / "proc/self/mounts", 16 << 20);
  if (!mounts) mounts = try_read(root / "proc/mounts", 16 << 20);
  if (mounts) {
    for (auto line : text::lines(*mounts)) {
      auto f = text::split_ws(line);
      if (f.size() < 3 || f[0] != "cvmfs2" || !f[1].starts_with("/cvmfs/")) continue;
      auto name = f[1].substr(7);
      if (!name.empty() && name.find('/') == std::string::npos) repos.insert(name);
    }
  }
  // readdir of the autofs directory lists what is mounted without mounting anything.
  UniqueFd dir(::open((root / "cvmfs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) {
    if (DIR* d = ::fdopendir(dir.get())) {
      dir.release();
      while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n != "." && n != ".." && n.find('.') != std::string_view::npos) repos.emplace(n);
      }
      ::closedir(d);
    }
  }
  return {repos.begin(), repos.end()};
}

std::optional<std::string> glibc_version(const fs::path& root, std::string_view machine) {
  std::string multiarch = std::string(machine) + "-linux-gnu";
  const std::vector<fs::path> candidates = {root / "lib64/libc.so.6",
                                            root / "usr/lib64/libc.so.6",
                                            root / "lib" / multiarch / "libc.so.6",
                                            root / "usr/lib" / multiarch / "libc.so.6",
                                            root / "lib/libc.so.6",
                                            root / "usr/lib/libc.so.6"};
  for (const auto& path : candidates) {
    // Before glibc 2.34 libc.so.6 links to libc-<version>.so. Only the link's name is used: an
    // absolute link would lead out of a test root.
    std::error_code ec;
    auto target = fs::read_symlink(path, ec);
    auto name = ec ? std::string() : target.filename().string();
    if (name.starts_with("libc-") && name.ends_with(".so")) {
      auto v = name.substr(5, name.size() - 8);
      if (version_text(v)) return v;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) continue;
    auto found = banner_version(fd.get());
    if (found) return found;
  }
  return std::nullopt;
}

}  // namespace pilot::platform
