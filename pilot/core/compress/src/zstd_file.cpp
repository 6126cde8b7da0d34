#include "core/zstd_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <memory>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + path.string(), errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::size_t read_some(int fd, char* buf, std::size_t size, const std::filesystem::path& path) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno("cannot read " + path.string(), errno);
  }
}

void compress_stream(int in, std::uint64_t left, int out, int level, CompressedCopy& copy,
                     const std::filesystem::path& from, const std::filesystem::path& to) {
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) throw Error("zstd: cannot allocate a compression context for " + from.string());
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::vector<char> ibuf(ZSTD_CStreamInSize()), obuf(ZSTD_CStreamOutSize());
  for (;;) {
    std::size_t n =
        left ? read_some(in, ibuf.data(), std::min<std::uint64_t>(ibuf.size(), left), from) : 0;
    left -= n;
    copy.stored_bytes += n;
    const bool last = n == 0;
    ZSTD_inBuffer input{ibuf.data(), n, 0};
    for (;;) {
      ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
      std::size_t rest =
          ZSTD_compressStream2(cctx.get(), &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rest))
        throw Error("zstd: compressing " + from.string() + ": " + ZSTD_getErrorName(rest));
      write_all(out, obuf.data(), output.pos, to);
      if (last ? rest == 0 : input.pos == input.size) break;
    }
    if (last) break;
  }
}

}  // namespace

CompressedCopy compress_tail(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::uint64_t max_bytes, int level) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!in) throw_errno("cannot open " + from.string() + " for compression", errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw_errno("cannot stat " + from.string(), errno);
  if (!S_ISREG(st.st_mode)) throw Error(from.string() + " is not a regular file");
  CompressedCopy copy;
  copy.bytes = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t skip = copy.bytes > max_bytes ? copy.bytes - max_bytes : 0;
  if (skip && ::lseek(in.get(), static_cast<off_t>(skip), SEEK_SET) < 0)
    throw_errno("cannot seek in " + from.string(), errno);

  auto tmp = to.parent_path() / ("." + to.filename().string() + ".tmp");
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) throw_errno("cannot create " + tmp.string(), errno);
  try {
    compress_stream(in.get(), copy.bytes - skip, out.get(), level, copy, from, tmp);
    sync_file(out.get(), tmp);
    out = UniqueFd();
    if (::rename(tmp.c_str(), to.c_str()) != 0)
      throw_errno("cannot rename " + tmp.string() + " to " + to.string(), errno);
  } catch (...) {  // the temporary file goes whatever failed; the error itself is rethrown
    ::unlink(tmp.c_str());
    throw;
  }
  return copy;
}

std::filesystem::path compress_file_zstd(const std::filesystem::path& path, int level) {
  auto out = path;
  out += ".zst";
  compress_tail(path, out, std::numeric_limits<std::uint64_t>::max(), level);
  ::unlink(path.c_str());
  return out;
}

void decompress_to(const std::filesystem::path& from, std::ostream& out, std::uint64_t max_bytes) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot open " + from.string(), errno);
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) throw Error("zstd: cannot allocate a decompression context for " + from.string());
  std::vector<char> ibuf(ZSTD_DStreamInSize()), obuf(ZSTD_DStreamOutSize());
  std::uint64_t written = 0;
  std::size_t pending = 0;  // 0 once a frame is complete
  bool any = false;
  for (;;) {
    std::size_t n = read_some(in.get(), ibuf.data(), ibuf.size(), from);
    if (n == 0) break;
    any = true;
    ZSTD_inBuffer input{ibuf.data(), n, 0};
    for (;;) {
      ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
      pending = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(pending))
        throw Error("zstd: " + from.string() + " is corrupt: " + ZSTD_getErrorName(pending));
      if (written + output.pos > max_bytes)
        throw Error(from.string() + " decompresses to more than " + std::to_string(max_bytes) +
                    " bytes");
      out.write(obuf.data(), static_cast<std::streamsize>(output.pos));
      written += output.pos;
      // This input is done once consumed and the decoder had no more to give (a full output
      // buffer may hide more).
      if (input.pos == input.size && output.pos < output.size) break;
    }
  }
  if (!any || pending != 0) throw Error("zstd: " + from.string() + " is truncated");
}

std::string read_zstd_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  std::ostringstream out;
  decompress_to(path, out, max_bytes);
  return std::move(out).str();
}

}  // namespace pilot
