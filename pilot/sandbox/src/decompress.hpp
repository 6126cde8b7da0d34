#pragma once
// A byte stream over an archive file, decompressed on the fly (gzip or bzip2, chosen by magic).

#include <bzlib.h>
#include <zlib.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "core/fs.hpp"
#include "sandbox/tar.hpp"

namespace pilot::sandbox::detail {

class DecompressingReader {
 public:
  explicit DecompressingReader(const std::filesystem::path& archive);
  ~DecompressingReader();
  DecompressingReader(const DecompressingReader&) = delete;
  DecompressingReader& operator=(const DecompressingReader&) = delete;

  // Up to `n` bytes; fewer only at the end of the data. Throws pilot::Error on corrupt or
  // truncated compressed data, naming the archive.
  std::size_t read(char* out, std::size_t n);
  // Exactly `n` bytes or a "truncated" error naming `what`.
  void read_exact(char* out, std::size_t n, const std::string& what);

 private:
  std::size_t read_raw(char* out, std::size_t n);
  bool fill();

  std::string name_;
  UniqueFd fd_;
  Compression kind_;
  std::string in_;
  std::size_t in_pos_ = 0;
  bool in_eof_ = false;
  bool stream_end_ = false;
  z_stream z_{};
  bz_stream bz_{};
  bool init_ = false;
};

}  // namespace pilot::sandbox::detail
