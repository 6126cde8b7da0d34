#include "dirac/diset_frame.hpp"

#include <charconv>

#include "core/error.hpp"

namespace pilot::dirac {
namespace {

constexpr std::size_t kMaxLengthDigits = 10;

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  return out;
}

}  // namespace

std::optional<DisetFrame> DisetFrameReader::next() {
  while (!length_) {
    if (buf_.starts_with("dka")) {
      buf_.erase(0, 3);
      keep_alive_ = true;
      continue;
    }
    // Only the header's window is searched: a peer streaming bytes without a ':' is refused as
    // soon as the window is full, and a long buffer is never rescanned.
    std::string_view window = std::string_view(buf_).substr(0, kMaxLengthDigits + 2);
    auto colon = window.find(':');
    if (colon == std::string_view::npos && window.size() < kMaxLengthDigits + 2)
      return std::nullopt;
    std::size_t len = 0;
    bool ok = colon != std::string_view::npos && colon > 0 && colon <= kMaxLengthDigits;
    for (char c : window.substr(0, ok ? colon : 0)) ok = ok && c >= '0' && c <= '9';
    if (ok) std::from_chars(buf_.data(), buf_.data() + colon, len);
    if (!ok)
      throw Error("malformed frame header '" + printable(std::string_view(buf_).substr(0, 20)) +
                  "'");
    if (len > max_frame_)
      throw Error("frame of " + std::to_string(len) + " bytes exceeds the limit of " +
                  std::to_string(max_frame_));
    buf_.erase(0, colon + 1);
    length_ = len;
  }
  if (buf_.size() < *length_) return std::nullopt;
  DisetFrame frame{keep_alive_, buf_.substr(0, *length_)};
  buf_.erase(0, *length_);
  length_.reset();
  keep_alive_ = false;
  return frame;
}

}  // namespace pilot::dirac
