#pragma once
// The DISET byte stream cut into frames, apart from the socket so it is a pure function of the
// bytes received (and can be fuzzed). A frame is "<decimal length>:<payload>" with 1 to 10 length
// digits; "dka" before a frame marks it as a keep-alive. Bytes may arrive in any pieces.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::dirac {

struct DisetFrame {
  bool keep_alive = false;
  std::string payload;
};

class DisetFrameReader {
 public:
  // Frames longer than `max_frame` bytes are refused before their payload is read.
  explicit DisetFrameReader(std::size_t max_frame) : max_frame_(max_frame) {}

  void feed(std::string_view bytes) { buf_.append(bytes); }

  // The next complete frame, or nullopt when more bytes are needed. Throws pilot::Error for a
  // malformed header or a frame over the limit; the reader is then unusable.
  std::optional<DisetFrame> next();

  // The announced length of the frame whose payload is being read, and how much of it arrived
  // (for "connection lost after X of N bytes" messages).
  std::optional<std::size_t> pending_length() const { return length_; }
  std::size_t buffered() const { return buf_.size(); }

 private:
  std::size_t max_frame_;
  std::string buf_;
  std::optional<std::size_t> length_;
  bool keep_alive_ = false;
};

}  // namespace pilot::dirac
