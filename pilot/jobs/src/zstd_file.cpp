#include "zstd_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::jobs::detail {
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

}  // namespace

CompressedCopy compress_tail(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::size_t max_bytes) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!in) throw_errno("cannot open " + from.string(), errno);
  struct stat st {};
  if (::fstat(in.get(), &st) != 0) throw_errno("cannot stat " + from.string(), errno);
  if (!S_ISREG(st.st_mode)) throw Error(from.string() + " is not a regular file");
  CompressedCopy copy;
  copy.bytes = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t skip = copy.bytes > max_bytes ? copy.bytes - max_bytes : 0;
  if (skip && ::lseek(in.get(), static_cast<off_t>(skip), SEEK_SET) < 0)
    throw_errno("cannot seek in " + from.string(), errno);

  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) throw_errno("cannot create " + to.string(), errno);
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) throw Error("cannot allocate a zstd context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, 6);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);

  std::vector<char> ibuf(ZSTD_CStreamInSize()), obuf(ZSTD_CStreamOutSize());
  std::uint64_t left = copy.bytes - skip;  // a file still growing is cut at the size seen
  for (;;) {
    std::size_t n =
        left ? read_some(in.get(), ibuf.data(), std::min<std::uint64_t>(ibuf.size(), left), from)
             : 0;
    left -= n;
    copy.stored_bytes += n;
    bool last = n == 0;
    ZSTD_inBuffer input{ibuf.data(), n, 0};
    for (;;) {
      ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
      std::size_t rest =
          ZSTD_compressStream2(cctx.get(), &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(rest))
        throw Error("cannot compress " + from.string() + ": " + ZSTD_getErrorName(rest));
      write_all(out.get(), obuf.data(), output.pos, to);
      if (last ? rest == 0 : input.pos == input.size) break;
    }
    if (last) break;
  }
  if (::fsync(out.get()) != 0) throw_errno("cannot fsync " + to.string(), errno);
  return copy;
}

void decompress_to(const std::filesystem::path& from, std::ostream& out) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot open " + from.string(), errno);
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) throw Error("cannot allocate a zstd context");
  std::vector<char> ibuf(ZSTD_DStreamInSize()), obuf(ZSTD_DStreamOutSize());
  std::size_t pending = 0;  // 0 once a frame is complete
  for (;;) {
    std::size_t n = read_some(in.get(), ibuf.data(), ibuf.size(), from);
    if (n == 0) break;
    ZSTD_inBuffer input{ibuf.data(), n, 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
      pending = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(pending))
        throw Error("corrupt compressed log " + from.string() + ": " + ZSTD_getErrorName(pending));
      out.write(obuf.data(), static_cast<std::streamsize>(output.pos));
    }
  }
  if (pending != 0) throw Error("truncated compressed log " + from.string());
}

}  // namespace pilot::jobs::detail
