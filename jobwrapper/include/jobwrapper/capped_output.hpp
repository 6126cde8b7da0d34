#pragma once
// One output stream of the payload written to a file in the job directory, capped: the first half
// of the cap is written as it comes, the last half is kept in a ring file beside it
// (".<name>.tail"), and finish() joins them with a line saying how many bytes were dropped. The
// last lines are also kept in memory for heartbeats ("peek"). Memory use is bounded by the peek.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/fs.hpp"

namespace pilot::jobwrapper {

class CappedOutput {
 public:
  // Creates (truncates) `path`. `cap_bytes` 0: no cap. Throws pilot::Error naming the file.
  CappedOutput(std::filesystem::path path, std::uint64_t cap_bytes, std::size_t peek_lines);

  void append(std::string_view data);
  // Completes the file (head, dropped-bytes line, tail) and removes the ring file. Idempotent.
  void finish();

  std::string peek() const;  // the last peek_lines lines, '\n'-separated
  std::uint64_t total_bytes() const { return total_; }
  std::uint64_t dropped_bytes() const;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path tail_path() const;

 private:
  void write_at(int fd, std::uint64_t offset, std::string_view data,
                const std::filesystem::path& p);
  void remember_lines(std::string_view data);

  std::filesystem::path path_;
  std::uint64_t head_cap_ = 0;
  std::uint64_t tail_cap_ = 0;
  std::size_t peek_lines_;
  UniqueFd fd_;
  UniqueFd tail_fd_;
  std::uint64_t total_ = 0;
  std::uint64_t tail_written_ = 0;  // bytes that went into the ring (position = this % tail_cap_)
  bool finished_ = false;
  std::deque<std::string> lines_;
  std::string partial_;
};

}  // namespace pilot::jobwrapper
