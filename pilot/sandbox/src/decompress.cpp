#include "decompress.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace pilot::sandbox {
namespace {

UniqueFd open_archive(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open archive " + p.string(), errno);
  return fd;
}

}  // namespace

Compression detect_compression(const std::filesystem::path& archive) {
  UniqueFd fd = open_archive(archive);
  unsigned char magic[3] = {0, 0, 0};
  ssize_t n;
  do n = ::pread(fd.get(), magic, sizeof magic, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("cannot read archive " + archive.string(), errno);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::gzip;
  if (n >= 3 && magic[0] == 'B' && magic[1] == 'Z' && magic[2] == 'h') return Compression::bzip2;
  return Compression::none;
}

namespace detail {

DecompressingReader::DecompressingReader(const std::filesystem::path& archive)
    : name_(archive.string()), fd_(open_archive(archive)), kind_(detect_compression(archive)) {
  if (kind_ == Compression::gzip) {
    // 16 + MAX_WBITS: a gzip wrapper, not raw zlib.
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK)
      throw Error("archive " + name_ + ": cannot start gzip decoding");
    init_ = true;
  } else if (kind_ == Compression::bzip2) {
    if (BZ2_bzDecompressInit(&bz_, 0, 0) != BZ_OK)
      throw Error("archive " + name_ + ": cannot start bzip2 decoding");
    init_ = true;
  }
}

DecompressingReader::~DecompressingReader() {
  if (!init_) return;
  if (kind_ == Compression::gzip)
    inflateEnd(&z_);
  else
    BZ2_bzDecompressEnd(&bz_);
}

bool DecompressingReader::fill() {
  if (in_pos_ < in_.size()) return true;
  if (in_eof_) return false;
  in_.resize(1 << 16);
  ssize_t n;
  do n = ::read(fd_.get(), in_.data(), in_.size());
  while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("cannot read archive " + name_, errno);
  in_.resize(static_cast<std::size_t>(n));
  in_pos_ = 0;
  if (n == 0) in_eof_ = true;
  return n > 0;
}

std::size_t DecompressingReader::read_raw(char* out, std::size_t n) {
  std::size_t done = 0;
  while (done < n && fill()) {
    std::size_t k = std::min(n - done, in_.size() - in_pos_);
    std::memcpy(out + done, in_.data() + in_pos_, k);
    in_pos_ += k;
    done += k;
  }
  return done;
}

std::size_t DecompressingReader::read(char* out, std::size_t n) {
  if (kind_ == Compression::none) return read_raw(out, n);
  std::size_t done = 0;
  while (done < n && !stream_end_) {
    bool have_input = fill();
    std::size_t avail = in_.size() - in_pos_;
    if (kind_ == Compression::gzip) {
      z_.next_in = reinterpret_cast<Bytef*>(in_.data() + in_pos_);
      z_.avail_in = static_cast<uInt>(avail);
      z_.next_out = reinterpret_cast<Bytef*>(out + done);
      z_.avail_out = static_cast<uInt>(n - done);
      int rc = inflate(&z_, Z_NO_FLUSH);
      in_pos_ += avail - z_.avail_in;
      done = n - z_.avail_out;
      if (rc == Z_STREAM_END)
        stream_end_ = true;
      else if (rc == Z_BUF_ERROR && !have_input)
        throw Error("archive " + name_ + ": truncated gzip data");
      else if (rc != Z_OK && rc != Z_BUF_ERROR)
        throw Error("archive " + name_ + ": corrupt gzip data (" +
                    (z_.msg ? z_.msg : "zlib error " + std::to_string(rc)) + ")");
    } else {
      bz_.next_in = in_.data() + in_pos_;
      bz_.avail_in = static_cast<unsigned>(avail);
      bz_.next_out = out + done;
      bz_.avail_out = static_cast<unsigned>(n - done);
      unsigned before_out = bz_.avail_out;
      int rc = BZ2_bzDecompress(&bz_);
      in_pos_ += avail - bz_.avail_in;
      done = n - bz_.avail_out;
      if (rc == BZ_STREAM_END)
        stream_end_ = true;
      else if (rc != BZ_OK)
        throw Error("archive " + name_ + ": corrupt bzip2 data (bzip2 error " + std::to_string(rc) +
                    ")");
      else if (!have_input && bz_.avail_out == before_out)
        throw Error("archive " + name_ + ": truncated bzip2 data");
    }
  }
  return done;
}

void DecompressingReader::read_exact(char* out, std::size_t n, const std::string& what) {
  std::size_t got = read(out, n);
  if (got != n)
    throw Error("archive " + name_ + ": truncated archive (" + what + ": " + std::to_string(got) +
                " of " + std::to_string(n) + " bytes)");
}

}  // namespace detail
}  // namespace pilot::sandbox
