#include "jobwrapper/capped_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"

namespace pilot::jobwrapper {
namespace {

constexpr std::size_t kMaxPeekLine = 4096;  // a peek line longer than this is cut

UniqueFd open_truncated(const std::filesystem::path& p, int flags = O_WRONLY) {
  UniqueFd fd(::open(p.c_str(), flags | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_errno("cannot create " + p.string(), errno);
  return fd;
}

}  // namespace

CappedOutput::CappedOutput(std::filesystem::path path, std::uint64_t cap_bytes,
                           std::size_t peek_lines)
    : path_(std::move(path)), peek_lines_(peek_lines) {
  if (cap_bytes > 0) {
    head_cap_ = cap_bytes / 2;
    tail_cap_ = cap_bytes - head_cap_;
  }
  fd_ = open_truncated(path_);
}

std::filesystem::path CappedOutput::tail_path() const {
  return path_.parent_path() / ("." + path_.filename().string() + ".tail");
}

std::uint64_t CappedOutput::dropped_bytes() const {
  if (tail_cap_ == 0 || tail_written_ <= tail_cap_) return 0;
  return tail_written_ - tail_cap_;
}

void CappedOutput::write_at(int fd, std::uint64_t offset, std::string_view data,
                            const std::filesystem::path& p) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write " + p.string(), errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
}

void CappedOutput::remember_lines(std::string_view data) {
  if (peek_lines_ == 0) return;
  for (char ch : data) {
    if (ch == '\n') {
      lines_.push_back(std::move(partial_));
      partial_.clear();
      if (lines_.size() > peek_lines_) lines_.pop_front();
    } else if (partial_.size() < kMaxPeekLine) {
      partial_ += ch;
    }
  }
}

void CappedOutput::append(std::string_view data) {
  if (finished_ || data.empty()) return;
  remember_lines(data);
  if (tail_cap_ == 0 || total_ < head_cap_) {
    std::size_t to_head =
        tail_cap_ == 0
            ? data.size()
            : static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), head_cap_ - total_));
    write_at(fd_.get(), total_, data.substr(0, to_head), path_);
    total_ += to_head;
    data.remove_prefix(to_head);
  }
  if (data.empty()) return;
  if (!tail_fd_) tail_fd_ = open_truncated(tail_path(), O_RDWR);
  // Only the last tail_cap_ bytes of this chunk can survive.
  if (data.size() > tail_cap_) {
    auto skip = data.size() - tail_cap_;
    tail_written_ += skip;
    total_ += skip;
    data.remove_prefix(skip);
  }
  while (!data.empty()) {
    std::uint64_t pos = tail_written_ % tail_cap_;
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(data.size(), tail_cap_ - pos));
    write_at(tail_fd_.get(), pos, data.substr(0, n), tail_path());
    tail_written_ += n;
    total_ += n;
    data.remove_prefix(n);
  }
}

void CappedOutput::finish() {
  if (finished_) return;
  finished_ = true;
  if (!tail_fd_) return;
  std::uint64_t offset = head_cap_;
  if (auto dropped = dropped_bytes()) {
    std::string note = "\n[pilot: " + std::to_string(dropped) + " bytes of output dropped here; " +
                       std::to_string(total_) + " bytes written in total]\n";
    write_at(fd_.get(), offset, note, path_);
    offset += note.size();
  }
  // The ring in order: from the oldest byte (at the write position once wrapped) to the newest.
  std::uint64_t kept = std::min(tail_written_, tail_cap_);
  std::uint64_t start = tail_written_ > tail_cap_ ? tail_written_ % tail_cap_ : 0;
  std::vector<char> buf(64 << 10);
  for (std::uint64_t done = 0; done < kept;) {
    std::uint64_t pos = (start + done) % tail_cap_;
    std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>({std::uint64_t{buf.size()}, kept - done, tail_cap_ - pos}));
    ssize_t r = ::pread(tail_fd_.get(), buf.data(), n, static_cast<off_t>(pos));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw_errno("cannot read " + tail_path().string(), r < 0 ? errno : EIO);
    write_at(fd_.get(), offset, std::string_view(buf.data(), static_cast<std::size_t>(r)), path_);
    offset += static_cast<std::uint64_t>(r);
    done += static_cast<std::uint64_t>(r);
  }
  if (::ftruncate(fd_.get(), static_cast<off_t>(offset)) != 0)
    throw_errno("cannot truncate " + path_.string(), errno);
  tail_fd_ = UniqueFd();
  ::unlink(tail_path().c_str());
}

std::string CappedOutput::peek() const {
  std::string out;
  std::size_t skip = (!partial_.empty() && lines_.size() >= peek_lines_) ? 1 : 0;
  for (std::size_t i = skip; i < lines_.size(); ++i) {
    out += lines_[i];
    out += '\n';
  }
  out += partial_;
  return out;
}

}  // namespace pilot::jobwrapper
