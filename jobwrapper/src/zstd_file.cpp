#include "jobwrapper/zstd_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::jobwrapper {
namespace {

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& p) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + p.string(), errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

std::size_t read_some(int fd, char* buf, std::size_t size, const std::filesystem::path& p) {
  for (;;) {
    ssize_t n = ::read(fd, buf, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) throw_errno("cannot read " + p.string(), errno);
  }
}

}  // namespace

std::filesystem::path compress_file_zstd(const std::filesystem::path& path, int level) {
  auto out_path = path;
  out_path += ".zst";
  auto tmp_path = path.parent_path() / ("." + out_path.filename().string() + ".tmp");
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot open " + path.string() + " for compression", errno);
  UniqueFd out(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) throw_errno("cannot create " + tmp_path.string(), errno);
  try {
    std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
    if (!cctx) throw Error("zstd: cannot allocate a compression context for " + path.string());
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
    std::vector<char> ibuf(ZSTD_CStreamInSize()), obuf(ZSTD_CStreamOutSize());
    for (;;) {
      std::size_t got = read_some(in.get(), ibuf.data(), ibuf.size(), path);
      const bool last = got == 0;
      ZSTD_inBuffer input{ibuf.data(), got, 0};
      for (bool done = false; !done;) {
        ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
        std::size_t rem =
            ZSTD_compressStream2(cctx.get(), &output, &input, last ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(rem))
          throw Error("zstd: compressing " + path.string() + ": " + ZSTD_getErrorName(rem));
        write_all(out.get(), obuf.data(), output.pos, tmp_path);
        done = last ? rem == 0 : input.pos == input.size;
      }
      if (last) break;
    }
    if (::fsync(out.get()) != 0) throw_errno("cannot fsync " + tmp_path.string(), errno);
    out = UniqueFd();
    if (::rename(tmp_path.c_str(), out_path.c_str()) != 0)
      throw_errno("cannot rename " + tmp_path.string() + " to " + out_path.string(), errno);
  } catch (...) {
    ::unlink(tmp_path.c_str());
    throw;
  }
  ::unlink(path.c_str());
  return out_path;
}

std::string read_zstd_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
  UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot open " + path.string(), errno);
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) throw Error("zstd: cannot allocate a decompression context for " + path.string());
  std::vector<char> ibuf(ZSTD_DStreamInSize()), obuf(ZSTD_DStreamOutSize());
  std::string out;
  std::size_t last_ret = 0;
  bool any = false;
  for (;;) {
    std::size_t got = read_some(in.get(), ibuf.data(), ibuf.size(), path);
    if (got == 0) break;
    any = true;
    ZSTD_inBuffer input{ibuf.data(), got, 0};
    for (;;) {
      ZSTD_outBuffer output{obuf.data(), obuf.size(), 0};
      last_ret = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(last_ret))
        throw Error("zstd: " + path.string() + " is corrupt: " + ZSTD_getErrorName(last_ret));
      if (out.size() + output.pos > max_bytes)
        throw Error(path.string() + " decompresses to more than " + std::to_string(max_bytes) +
                    " bytes");
      out.append(obuf.data(), output.pos);
      // Done with this input once it is consumed and the decoder had no more to give.
      if (input.pos == input.size && output.pos < output.size) break;
    }
  }
  if (!any || last_ret != 0) throw Error("zstd: " + path.string() + " is truncated");
  return out;
}

}  // namespace pilot::jobwrapper
