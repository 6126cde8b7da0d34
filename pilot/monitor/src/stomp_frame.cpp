// STOMP 1.2 frames: header escaping, encoding, and splitting a byte stream into frames.

#include <charconv>
#include <string>
#include <string_view>

#include "monitor/stomp_client.hpp"

namespace pilot::monitor {
namespace {

[[noreturn]] void malformed(const std::string& what) {
  throw StompError(StompErrorKind::protocol, "malformed STOMP frame: " + what);
}

// CONNECT and CONNECTED predate escaping: the specification leaves their headers as they are.
bool escapes_headers(std::string_view command) {
  return command != "CONNECT" && command != "CONNECTED";
}

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

void parse_header(std::string_view line, bool escaped, StompFrame& frame) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) malformed("a header without ':'");
  auto name = line.substr(0, colon), value = line.substr(colon + 1);
  frame.headers.emplace_back(escaped ? unescape_header(name) : std::string(name),
                             escaped ? unescape_header(value) : std::string(value));
}

std::optional<std::size_t> content_length(const StompFrame& frame) {
  auto text = frame.header("content-length");
  if (!text) return std::nullopt;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size())
    malformed("content-length '" + *text + "'");
  return n;
}

}  // namespace

const char* stomp_error_kind_name(StompErrorKind kind) {
  switch (kind) {
    case StompErrorKind::transport:
      return "transport";
    case StompErrorKind::tls:
      return "tls";
    case StompErrorKind::timeout:
      return "timeout";
    case StompErrorKind::refused:
      return "refused";
    case StompErrorKind::protocol:
      return "protocol";
  }
  return "?";
}

std::optional<std::string> StompFrame::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return std::nullopt;
}

std::string escape_header(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case ':':
        out += "\\c";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unescape_header(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    char next = ++i < text.size() ? text[i] : '\0';
    switch (next) {
      case '\\':
        out += '\\';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'c':
        out += ':';
        break;
      default:
        malformed("undefined header escape in '" + std::string(text) + "'");
    }
  }
  return out;
}

std::string encode_frame(const StompFrame& frame) {
  bool escaped = escapes_headers(frame.command);
  std::string out = frame.command + "\n";
  for (const auto& [k, v] : frame.headers)
    out += (escaped ? escape_header(k) : k) + ":" + (escaped ? escape_header(v) : v) + "\n";
  if (!frame.body.empty() && !frame.header("content-length"))
    out += "content-length:" + std::to_string(frame.body.size()) + "\n";
  out += "\n";
  out += frame.body;
  out += '\0';
  return out;
}

std::optional<StompFrame> FrameParser::next() {
  // Heart-beats are bare end-of-lines between frames.
  auto start = buffer_.find_first_not_of("\r\n");
  if (start == std::string::npos) {
    buffer_.clear();
    return std::nullopt;
  }
  buffer_.erase(0, start);
  auto head_end = buffer_.find("\n\n");
  auto crlf_end = buffer_.find("\r\n\r\n");
  std::size_t body_at = 0;
  if (crlf_end != std::string::npos && (head_end == std::string::npos || crlf_end < head_end)) {
    head_end = crlf_end, body_at = crlf_end + 4;
  } else if (head_end != std::string::npos) {
    body_at = head_end + 2;
  }
  if (head_end == std::string::npos) {
    if (buffer_.size() > kMaxFrame) malformed("headers larger than 16 MiB");
    return std::nullopt;
  }
  std::string_view head(buffer_.data(), head_end);
  StompFrame frame;
  auto eol = head.find('\n');
  frame.command = std::string(strip_cr(head.substr(0, eol)));
  bool escaped = escapes_headers(frame.command);
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 1);
    eol = head.find('\n');
    auto line = strip_cr(head.substr(0, eol));
    if (!line.empty()) parse_header(line, escaped, frame);
  }
  std::size_t body_end = 0;
  if (auto n = content_length(frame)) {
    if (*n > kMaxFrame) malformed("a body of " + std::to_string(*n) + " bytes");
    if (buffer_.size() < body_at + *n + 1) return std::nullopt;
    body_end = body_at + *n;
    if (buffer_[body_end] != '\0') malformed("no NUL after content-length bytes");
  } else {
    body_end = buffer_.find('\0', body_at);
    if (body_end == std::string::npos) {
      if (buffer_.size() > kMaxFrame) malformed("a frame larger than 16 MiB");
      return std::nullopt;
    }
  }
  frame.body = buffer_.substr(body_at, body_end - body_at);
  buffer_.erase(0, body_end + 1);
  return frame;
}

}  // namespace pilot::monitor
