// Extraction walks every path component with openat(O_NOFOLLOW | O_DIRECTORY) from a descriptor of
// the destination, so no name resolution ever follows a symbolic link and nothing written can land
// outside the destination, whatever the archive or a concurrent payload does to the tree.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "decompress.hpp"
#include "sandbox/tar.hpp"

namespace pilot::sandbox {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kMaxNameBytes = 4096;     // PATH_MAX
constexpr std::size_t kMaxMetaBytes = 1 << 20;  // a pax or GNU long-name record

struct Entry {
  std::string name;
  std::string link;
  char type = '0';
  std::uint64_t size = 0;
  unsigned mode = 0644;
};

std::string field(const char* p, std::size_t n) {
  return std::string(p, strnlen(p, n));
}

// Octal (NUL/space padded) or GNU base-256 numbers; nullopt when malformed.
std::optional<std::uint64_t> number(const char* p, std::size_t n) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  if (u[0] & 0x80) {
    if (u[0] != 0x80) return std::nullopt;  // negative or too wide
    std::uint64_t v = 0;
    for (std::size_t i = 1; i < n; ++i) {
      if (v >> 56) return std::nullopt;
      v = (v << 8) | u[i];
    }
    return v;
  }
  std::size_t i = 0;
  while (i < n && p[i] == ' ') ++i;
  std::uint64_t v = 0;
  bool any = false;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60) return std::nullopt;
    v = v * 8 + static_cast<unsigned>(p[i] - '0');
    any = true;
  }
  for (; i < n; ++i)
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  return any ? std::optional(v) : std::optional<std::uint64_t>(0);
}

bool checksum_ok(const char* h) {
  auto stored = number(h + 148, 8);
  if (!stored) return false;
  std::uint64_t unsigned_sum = 0;
  std::int64_t signed_sum = 0;
  for (std::size_t i = 0; i < kBlock; ++i) {
    char c = (i >= 148 && i < 156) ? ' ' : h[i];
    unsigned_sum += static_cast<unsigned char>(c);
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || static_cast<std::int64_t>(*stored) == signed_sum;
}

// "<len> <key>=<value>\n" records of a pax header.
std::map<std::string, std::string> parse_pax(const std::string& data, const std::string& where) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    if (data[pos] == '\0') break;  // padding
    std::size_t sp = data.find(' ', pos);
    std::size_t len = 0;
    bool ok = sp != std::string::npos && sp > pos && sp - pos <= 10;
    for (std::size_t i = pos; ok && i < sp; ++i) ok = data[i] >= '0' && data[i] <= '9';
    if (ok) len = std::stoull(data.substr(pos, sp - pos));
    ok = ok && len > sp - pos + 2 && pos + len <= data.size() && data[pos + len - 1] == '\n';
    std::size_t eq = ok ? data.find('=', sp) : std::string::npos;
    if (!ok || eq == std::string::npos || eq >= pos + len)
      throw Error(where + ": malformed pax header record at offset " + std::to_string(pos));
    out[data.substr(sp + 1, eq - sp - 1)] = data.substr(eq + 1, pos + len - 1 - eq - 1);
    pos += len;
  }
  return out;
}

// The name split into components; refuses absolute names, `..`, empty and over-long names.
std::vector<std::string> safe_components(const std::string& name, const std::string& where) {
  if (name.empty()) throw Error(where + ": refused: empty name");
  if (name.size() > kMaxNameBytes)
    throw Error(where + ": refused: name longer than " + std::to_string(kMaxNameBytes) + " bytes");
  if (name.find('\0') != std::string::npos) throw Error(where + ": refused: NUL in name");
  if (name.front() == '/') throw Error(where + ": refused: absolute path");
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t slash = name.find('/', pos);
    if (slash == std::string::npos) slash = name.size();
    std::string c = name.substr(pos, slash - pos);
    if (c == "..") throw Error(where + ": refused: '..' component leaves the directory");
    if (!c.empty() && c != ".") parts.push_back(c);
    pos = slash + 1;
  }
  return parts;
}

class Extractor {
 public:
  Extractor(const std::filesystem::path& archive, const std::filesystem::path& dest,
            const ExtractLimits& limits)
      : archive_(archive.string()), limits_(limits), in_(archive) {
    root_ = UniqueFd(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root_) throw_errno("cannot open extraction directory " + dest.string(), errno);
  }

  ExtractResult run() {
    std::map<std::string, std::string> global;
    std::map<std::string, std::string> pax;
    std::optional<std::string> long_name, long_link;
    char h[kBlock];
    for (;;) {
      std::size_t got = in_.read(h, kBlock);
      if (got != kBlock) {
        // An archive whose end-of-archive blocks are missing is accepted (as Python's tarfile and
        // GNU tar do) only when nothing at all follows the last entry.
        if (got == 0 && pax.empty() && !long_name && !long_link && offset_ > 0) break;
        throw Error("archive " + archive_ + ": truncated archive (header at offset " +
                    std::to_string(offset_) + ")");
      }
      if (std::all_of(h, h + kBlock, [](char c) { return c == 0; })) break;  // end of archive
      std::string where = "archive " + archive_ + ": entry at offset " + std::to_string(offset_);
      offset_ += kBlock;
      if (!checksum_ok(h))
        throw Error(where + ": bad header checksum (not a tar archive, or corrupt)");
      Entry e;
      e.type = h[156] ? h[156] : '0';
      auto size = number(h + 124, 12);
      auto mode = number(h + 100, 8);
      if (!size || !mode) throw Error(where + ": malformed size or mode field");
      e.size = *size;
      e.mode = static_cast<unsigned>(*mode & 0777);
      std::string prefix =
          std::memcmp(h + 257, "ustar\0", 6) == 0 ? field(h + 345, 155) : std::string();
      e.name = prefix.empty() ? field(h, 100) : prefix + "/" + field(h, 100);
      e.link = field(h + 157, 100);

      if (e.type == 'x' || e.type == 'g' || e.type == 'L' || e.type == 'K') {
        if (e.size > kMaxMetaBytes)
          throw Error(where + ": refused: metadata record of " + std::to_string(e.size) + " bytes");
        std::string data(e.size, '\0');
        in_.read_exact(data.data(), data.size(), "metadata record");
        offset_ += e.size;
        finish_padding(e.size);
        if (e.type == 'L' || e.type == 'K') {
          // GNU long names are NUL-terminated inside a padded record.
          (e.type == 'L' ? long_name : long_link) = data.substr(0, data.find('\0'));
        } else {
          auto records = parse_pax(data, where);
          for (auto& [k, v] : records) (e.type == 'x' ? pax : global)[k] = v;
        }
        continue;
      }
      auto meta = global;
      for (auto& [k, v] : pax) meta[k] = v;
      if (auto it = meta.find("path"); it != meta.end()) e.name = it->second;
      if (auto it = meta.find("linkpath"); it != meta.end()) e.link = it->second;
      if (long_name) e.name = *long_name;
      if (long_link) e.link = *long_link;
      if (auto it = meta.find("size"); it != meta.end()) {
        auto v = number(it->second.data(), it->second.size());
        if (!v || it->second.empty())
          throw Error(where + ": malformed pax size '" + it->second + "'");
        e.size = *v;
      }
      pax.clear();
      long_name.reset();
      long_link.reset();
      extract(e, "archive " + archive_ + ": entry '" + e.name + "'");
    }
    return result_;
  }

 private:
  void skip(const std::uint64_t size) {
    char buf[1 << 14];
    for (std::uint64_t left = size; left > 0;) {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof buf));
      in_.read_exact(buf, k, "entry data");
      left -= k;
      offset_ += k;
    }
    finish_padding(size);
  }

  // Opens (creating when asked) the directory holding the last component, never following links.
  UniqueFd parent_of(const std::vector<std::string>& parts, const std::string& where, bool create) {
    UniqueFd dir(::dup(root_.get()));
    if (!dir) throw_errno(where + ": dup", errno);
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
      if (create && ::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
        throw_errno(where + ": cannot create directory '" + parts[i] + "'", errno);
      UniqueFd next(
          ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next) {
        if (errno == ELOOP || errno == ENOTDIR)
          throw Error(where + ": refused: '" + parts[i] +
                      "' is a symbolic link or not a directory");
        throw_errno(where + ": cannot open directory '" + parts[i] + "'", errno);
      }
      dir = std::move(next);
    }
    return dir;
  }

  // Makes room for a new non-directory entry of this name (a later entry replaces an earlier one).
  void remove_existing(int dir, const std::string& leaf, const std::string& where) {
    if (::unlinkat(dir, leaf.c_str(), 0) == 0 || errno == ENOENT) return;
    if (errno == EISDIR || errno == EPERM)
      throw Error(where + ": refused: a directory of that name exists");
    throw_errno(where + ": cannot replace '" + leaf + "'", errno);
  }

  void count(const std::string& where) {
    if (++result_.entries > limits_.max_entries)
      throw Error(where + ": refused: more than " + std::to_string(limits_.max_entries) +
                  " entries");
  }

  void extract(const Entry& e, const std::string& where) {
    count(where);
    auto parts = safe_components(e.name, where);
    bool regular = e.type == '0' || e.type == '7';
    if (parts.empty()) {
      if (e.type == '5') return skip(e.size);  // "./": the destination itself
      throw Error(where + ": refused: names the destination directory itself");
    }
    switch (e.type) {
      case '0':
      case '7':
        break;
      case '5':
        break;
      case '1':
      case '2':
        break;
      case '3':
        throw Error(where + ": refused: character device");
      case '4':
        throw Error(where + ": refused: block device");
      case '6':
        throw Error(where + ": refused: FIFO");
      default:
        throw Error(where + std::string(": refused: unsupported entry type '") + e.type + "'");
    }
    if (regular) {
      if (e.size > limits_.max_file_size)
        throw Error(where + ": refused: " + std::to_string(e.size) +
                    " bytes exceed the per-file limit of " + std::to_string(limits_.max_file_size));
      if (result_.bytes + e.size > limits_.max_total_size)
        throw Error(where + ": refused: the archive's files exceed the total limit of " +
                    std::to_string(limits_.max_total_size) + " bytes");
    }
    UniqueFd dir = parent_of(parts, where, true);
    const std::string& leaf = parts.back();
    if (e.type == '5') {
      if (::mkdirat(dir.get(), leaf.c_str(), e.mode | 0700) != 0 && errno != EEXIST)
        throw_errno(where + ": cannot create directory", errno);
      UniqueFd check(
          ::openat(dir.get(), leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!check) throw Error(where + ": refused: a non-directory of that name exists");
      return skip(e.size);
    }
    if (e.type == '2') return symlink(e, parts, dir.get(), where);
    if (e.type == '1') return hardlink(e, leaf, dir.get(), where);
    remove_existing(dir.get(), leaf, where);
    UniqueFd out(::openat(dir.get(), leaf.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, e.mode | 0600));
    if (!out) throw_errno(where + ": cannot create file", errno);
    char buf[1 << 16];
    std::uint64_t left = e.size;
    while (left > 0) {
      std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof buf));
      in_.read_exact(buf, k, "data of '" + e.name + "'");
      for (std::size_t off = 0; off < k;) {
        ssize_t w = ::write(out.get(), buf + off, k - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw_errno(where + ": cannot write", errno);
        off += static_cast<std::size_t>(w);
      }
      left -= k;
      offset_ += k;
    }
    if (::fchmod(out.get(), e.mode) != 0) throw_errno(where + ": cannot set the mode", errno);
    finish_padding(e.size);
    ++result_.files;
    result_.bytes += e.size;
  }

  void finish_padding(std::uint64_t size) {
    std::size_t pad = static_cast<std::size_t>((kBlock - size % kBlock) % kBlock);
    char buf[kBlock];
    in_.read_exact(buf, pad, "padding");
    offset_ += pad;
  }

  // A target made of leading '..' then plain names, with no more '..' than the link's depth: its
  // '..' walk real directories (never links) and every later name is itself a checked entry, so
  // resolution cannot leave the destination.
  void symlink(const Entry& e, const std::vector<std::string>& parts, int dir,
               const std::string& where) {
    if (e.link.empty()) throw Error(where + ": refused: symbolic link with an empty target");
    if (e.link.front() == '/')
      throw Error(where + ": refused: symbolic link to the absolute path '" + e.link + "'");
    std::size_t ups = 0;
    bool named = false;
    std::size_t pos = 0;
    while (pos <= e.link.size()) {
      std::size_t slash = e.link.find('/', pos);
      if (slash == std::string::npos) slash = e.link.size();
      std::string c = e.link.substr(pos, slash - pos);
      if (c == "..") {
        if (named)
          throw Error(where + ": refused: symbolic link target '" + e.link +
                      "' has '..' after a name");
        ++ups;
      } else if (!c.empty() && c != ".") {
        named = true;
      }
      pos = slash + 1;
    }
    if (ups > parts.size() - 1)
      throw Error(where + ": refused: symbolic link target '" + e.link + "' leaves the directory");
    if (!named && ups == parts.size() - 1)
      throw Error(where + ": refused: symbolic link to the destination directory itself");
    remove_existing(dir, parts.back(), where);
    if (::symlinkat(e.link.c_str(), dir, parts.back().c_str()) != 0)
      throw_errno(where + ": cannot create symbolic link", errno);
    skip(e.size);
  }

  void hardlink(const Entry& e, const std::string& leaf, int dir, const std::string& where) {
    if (e.link.empty()) throw Error(where + ": refused: hard link with an empty target");
    if (e.link.front() == '/')
      throw Error(where + ": refused: hard link to the absolute path '" + e.link + "'");
    auto target = safe_components(e.link, where + " (hard link target '" + e.link + "')");
    if (target.empty()) throw Error(where + ": refused: hard link to the destination directory");
    UniqueFd tdir = parent_of(target, where + " (hard link target)", false);
    struct stat st {};
    if (::fstatat(tdir.get(), target.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw Error(where + ": refused: hard link target '" + e.link +
                  "' is not an earlier entry of the archive");
    if (S_ISDIR(st.st_mode)) throw Error(where + ": refused: hard link to a directory");
    remove_existing(dir, leaf, where);
    if (::linkat(tdir.get(), target.back().c_str(), dir, leaf.c_str(), 0) != 0)
      throw_errno(where + ": cannot create hard link", errno);
    skip(e.size);
  }

  std::string archive_;
  ExtractLimits limits_;
  detail::DecompressingReader in_;
  UniqueFd root_;
  ExtractResult result_;
  std::uint64_t offset_ = 0;
};

}  // namespace

bool is_tar_archive(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return false;
  try {
    detail::DecompressingReader in(file);
    char h[kBlock];
    return in.read(h, kBlock) == kBlock && checksum_ok(h);
  } catch (const Error&) {
    return false;  // unreadable or corrupt compressed data: not an archive to unpack
  }
}

ExtractResult extract_archive(const std::filesystem::path& archive,
                              const std::filesystem::path& dest, const ExtractLimits& limits) {
  Extractor x(archive, dest, limits);
  return x.run();
}

}  // namespace pilot::sandbox
