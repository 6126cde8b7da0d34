#include "jobwrapper/procfs.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/number.hpp"

namespace pilot::jobwrapper {
namespace {

template <typename T>
bool to_number(std::string_view s, T& out) {
  auto v = whole_number<T>(s);
  if (v) out = *v;
  return v.has_value();
}

std::filesystem::path pid_file(const std::filesystem::path& root, pid_t pid, const char* name) {
  return root / std::to_string(pid) / name;
}

// A process may vanish between listing and reading: that is absence, not an error.
std::optional<std::string> read_proc_file(const std::filesystem::path& p,
                                          std::size_t max = 1 << 20) {
  try {
    return read_file(p, max);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

ProcStat parse_proc_stat(std::string_view text) {
  auto bad = [&](const char* why) {
    return Error(std::string("malformed /proc stat (") + why + "): '" +
                 std::string(text.substr(0, 120)) + "'");
  };
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    throw bad("no command name");
  ProcStat st;
  auto pid_text = text.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  if (!to_number(pid_text, st.pid)) throw bad("pid");
  std::vector<std::string_view> f;  // f[0] is field 3 (state)
  std::string_view rest = text.substr(close + 1);
  std::size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    std::size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) f.push_back(rest.substr(i, j - i));
    i = j;
  }
  if (f.size() < 22) throw bad("too few fields");
  if (f[0].size() != 1) throw bad("state");
  st.state = f[0][0];
  long long cut = 0, cst = 0;
  bool ok = to_number(f[1], st.ppid) && to_number(f[2], st.pgid) && to_number(f[3], st.sid) &&
            to_number(f[11], st.utime) && to_number(f[12], st.stime) && to_number(f[13], cut) &&
            to_number(f[14], cst) && to_number(f[19], st.starttime) && to_number(f[20], st.vsize) &&
            to_number(f[21], st.rss_pages);
  if (!ok) throw bad("numeric field");
  st.cutime = cut > 0 ? static_cast<std::uint64_t>(cut) : 0;
  st.cstime = cst > 0 ? static_cast<std::uint64_t>(cst) : 0;
  return st;
}

std::optional<ProcStat> read_proc_stat(const std::filesystem::path& proc_root, pid_t pid) {
  auto text = read_proc_file(pid_file(proc_root, pid, "stat"), 64 << 10);
  if (!text || text->empty()) return std::nullopt;
  return parse_proc_stat(*text);
}

std::vector<pid_t> list_pids(const std::filesystem::path& proc_root) {
  std::vector<pid_t> pids;
  DIR* d = ::opendir(proc_root.c_str());
  if (!d) throw_errno("cannot list " + proc_root.string(), errno);
  while (auto* e = ::readdir(d)) {
    pid_t pid = 0;
    if (to_number(std::string_view(e->d_name), pid) && pid > 0) pids.push_back(pid);
  }
  ::closedir(d);
  return pids;
}

std::optional<std::uint64_t> parse_smaps_rollup_pss(std::string_view text) {
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    auto line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (!line.starts_with("Pss:")) continue;
    line.remove_prefix(4);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    auto sp = line.find(' ');
    std::uint64_t kb = 0;
    if (!to_number(line.substr(0, sp), kb)) return std::nullopt;
    return kb * 1024;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> read_pss_bytes(const std::filesystem::path& proc_root, pid_t pid) {
  auto text = read_proc_file(pid_file(proc_root, pid, "smaps_rollup"), 64 << 10);
  if (!text) return std::nullopt;
  return parse_smaps_rollup_pss(*text);
}

bool environ_contains(const std::filesystem::path& proc_root, pid_t pid, std::string_view entry) {
  auto text = read_proc_file(pid_file(proc_root, pid, "environ"), 4 << 20);
  if (!text) return false;
  std::string_view all(*text);
  for (std::size_t pos = 0; pos < all.size();) {
    auto end = all.find('\0', pos);
    if (end == std::string_view::npos) end = all.size();
    if (all.substr(pos, end - pos) == entry) return true;
    pos = end + 1;
  }
  return false;
}

std::optional<pid_t> find_group_leader_with_environ(const std::filesystem::path& proc_root,
                                                    std::string_view entry) {
  for (pid_t pid : list_pids(proc_root)) {
    auto st = read_proc_stat(proc_root, pid);
    if (st && !st->gone() && st->pgid == pid && environ_contains(proc_root, pid, entry)) return pid;
  }
  return std::nullopt;
}

std::optional<double> read_load_average(const std::filesystem::path& proc_root) {
  auto text = read_proc_file(proc_root / "loadavg", 4096);
  if (!text) return std::nullopt;
  auto sp = text->find(' ');
  double v = 0;
  auto r = std::from_chars(text->data(),
                           text->data() + (sp == std::string::npos ? text->size() : sp), v);
  if (r.ec != std::errc()) return std::nullopt;
  return v;
}

long clock_ticks_per_second() {
  long t = ::sysconf(_SC_CLK_TCK);
  return t > 0 ? t : 100;
}

long page_size_bytes() {
  long p = ::sysconf(_SC_PAGESIZE);
  return p > 0 ? p : 4096;
}

}  // namespace pilot::jobwrapper
