#include <bzlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "sandbox/tar.hpp"

namespace pilot::sandbox {
namespace {

constexpr std::size_t kBlock = 512;

// bzip2 compression straight into a file descriptor.
class Bz2Writer {
 public:
  Bz2Writer(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
    if (BZ2_bzCompressInit(&bz_, 9, 0, 0) != BZ_OK)
      throw Error("cannot start bzip2 compression for " + name_);
  }
  ~Bz2Writer() { BZ2_bzCompressEnd(&bz_); }
  Bz2Writer(const Bz2Writer&) = delete;
  Bz2Writer& operator=(const Bz2Writer&) = delete;

  void write(const char* data, std::size_t n) {
    if (n > 0) pump(data, n, BZ_RUN);  // bzip2 calls a step without progress a parameter error
  }
  void finish() { pump(nullptr, 0, BZ_FINISH); }

 private:
  void pump(const char* data, std::size_t n, int action) {
    bz_.next_in = const_cast<char*>(data);
    bz_.avail_in = static_cast<unsigned>(n);
    for (;;) {
      char out[1 << 16];
      bz_.next_out = out;
      bz_.avail_out = sizeof out;
      int rc = BZ2_bzCompress(&bz_, action);
      if (rc < 0)
        throw Error("bzip2 compression failed for " + name_ + " (error " + std::to_string(rc) +
                    ")");
      std::size_t have = sizeof out - bz_.avail_out;
      for (std::size_t off = 0; off < have;) {
        ssize_t w = ::write(fd_, out + off, have - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw_errno("cannot write " + name_, errno);
        off += static_cast<std::size_t>(w);
      }
      if (action == BZ_RUN && bz_.avail_in == 0) return;
      if (action == BZ_FINISH && rc == BZ_STREAM_END) return;
    }
  }

  int fd_;
  std::string name_;
  bz_stream bz_{};
};

void octal(char* field, std::size_t width, std::uint64_t v) {
  std::string s(width - 1, '0');
  for (std::size_t i = width - 1; i-- > 0 && v;) {
    s[i] = static_cast<char>('0' + (v & 7));
    v >>= 3;
  }
  std::memcpy(field, s.data(), width - 1);
  field[width - 1] = '\0';
}

// One pax record: "<len> key=value\n" where len counts itself.
std::string pax_record(const std::string& key, const std::string& value) {
  std::size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  std::size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

class TarWriter {
 public:
  TarWriter(int fd, const std::string& name) : out_(fd, name) {}

  void add(const std::filesystem::path& source, const std::string& name, bool follow) {
    struct stat st {};
    int rc = follow ? ::stat(source.c_str(), &st) : ::lstat(source.c_str(), &st);
    if (rc != 0) throw_errno("cannot add " + source.string() + " to the sandbox", errno);
    if (S_ISREG(st.st_mode)) return file(source, name, st);
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink(source, ec);
      if (ec) throw Error("cannot read symbolic link " + source.string() + ": " + ec.message());
      return header(name, '2', 0777, 0, st.st_mtime, target.string());
    }
    if (!S_ISDIR(st.st_mode)) return;  // sockets, FIFOs, devices: not sandbox material
    header(name + "/", '5', st.st_mode & 0777, 0, st.st_mtime, "");
    std::vector<std::filesystem::path> children;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(source, ec), end; !ec && it != end;
         it.increment(ec))
      children.push_back(it->path());
    if (ec) throw Error("cannot list " + source.string() + ": " + ec.message());
    std::sort(children.begin(), children.end());
    for (const auto& c : children) add(c, name + "/" + c.filename().string(), false);
  }

  void finish() {
    char zero[2 * kBlock] = {};
    out_.write(zero, sizeof zero);
    out_.finish();
  }

 private:
  void file(const std::filesystem::path& source, const std::string& name, const struct stat& st) {
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) throw_errno("cannot read " + source.string() + " for the sandbox", errno);
    auto size = static_cast<std::uint64_t>(st.st_size);
    header(name, '0', st.st_mode & 0777, size, st.st_mtime, "");
    char buf[1 << 16];
    std::uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(in.get(), buf,
                         static_cast<std::size_t>(std::min<std::uint64_t>(left, sizeof buf)));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("cannot read " + source.string() + " for the sandbox", errno);
      // A file that shrank while being packed is padded with zeros so the archive stays valid.
      if (n == 0) {
        std::memset(buf, 0, sizeof buf);
        n = static_cast<ssize_t>(std::min<std::uint64_t>(left, sizeof buf));
      }
      out_.write(buf, static_cast<std::size_t>(n));
      left -= static_cast<std::uint64_t>(n);
    }
    pad(size);
  }

  void pad(std::uint64_t size) {
    char zero[kBlock] = {};
    out_.write(zero, static_cast<std::size_t>((kBlock - size % kBlock) % kBlock));
  }

  void header(const std::string& name, char type, unsigned mode, std::uint64_t size, time_t mtime,
              const std::string& link) {
    std::string pax;
    if (name.size() > 100) pax += pax_record("path", name);
    if (link.size() > 100) pax += pax_record("linkpath", link);
    if (size >= (1ULL << 33)) pax += pax_record("size", std::to_string(size));
    if (!pax.empty()) {
      raw_header("././@PaxHeader", 'x', 0644, pax.size(), mtime, "");
      out_.write(pax.data(), pax.size());
      pad(pax.size());
    }
    raw_header(name.substr(0, 100), type, mode, size >= (1ULL << 33) ? 0 : size, mtime,
               link.substr(0, 100));
  }

  void raw_header(const std::string& name, char type, unsigned mode, std::uint64_t size,
                  time_t mtime, const std::string& link) {
    char h[kBlock] = {};
    std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 100));
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, mtime > 0 ? static_cast<std::uint64_t>(mtime) : 0);
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 100));
    std::memcpy(h + 257,
                "ustar\0"
                "00",
                8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    octal(h + 148, 7, sum);
    h[155] = ' ';
    out_.write(h, kBlock);
  }

  Bz2Writer out_;
};

}  // namespace

void create_tar_bz2(const std::filesystem::path& output,
                    const std::vector<ArchiveMember>& members) {
  std::filesystem::path tmp = output;
  tmp += ".part";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw_errno("cannot create " + tmp.string(), errno);
  try {
    TarWriter tar(fd.get(), output.string());
    for (const auto& m : members) tar.add(m.source, m.name, true);
    tar.finish();
    sync_file(fd.get(), tmp);
  } catch (...) {  // the temporary archive goes whatever failed; the error itself is rethrown
    ::unlink(tmp.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, output, ec);
  if (ec)
    throw Error("cannot rename " + tmp.string() + " to " + output.string() + ": " + ec.message());
}

}  // namespace pilot::sandbox
