#include "jdl_lexer.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace pilot::jobs::detail {
namespace {

bool is_ident_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ident_char(char c) {
  return is_ident_start(c) || is_digit(c);
}

// Single characters that may appear in ClassAd expressions; multi-character operators (==, &&,
// =?=, ...) are sequences of these, and expressions are kept as source text anyway.
bool is_punct(char c) {
  static constexpr std::string_view kPunct = "[]{}();,=+-*/%<>!~&|^?:.";
  return kPunct.find(c) != std::string_view::npos;
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xe ? 2 : (c >> 3) == 0x1e ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xc2) ||
        i + static_cast<std::size_t>(n) >= s.size() + (n == 0 ? 1 : 0))
      return false;  // bad lead byte, overlong 2-byte form, or truncated sequence
    std::uint32_t cp = n == 0 ? c : c & (0x3f >> n);
    for (int k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += static_cast<std::size_t>(n) + 1;
  }
  return true;
}

}  // namespace

std::string quote_for_message(std::string_view raw) {
  std::string out;
  for (char ch : raw.substr(0, 40)) {
    auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (raw.size() > 40) out += "...";
  return "'" + out + "'";
}

void Lexer::fail(int line, int column, const std::string& what) const {
  throw Error(std::string(source_) + ":" + std::to_string(line) + ":" + std::to_string(column) +
              ": " + what);
}

void Lexer::advance(std::size_t n) {
  for (std::size_t i = 0; i < n && pos_ < text_.size(); ++i, ++pos_) {
    char c = text_[pos_];
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) {
      ++column_;  // columns count characters, not UTF-8 continuation bytes
    }
  }
}

void Lexer::skip_blanks_and_comments() {
  for (;;) {
    char c = at(0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      advance();
    } else if (c == '#' || (c == '/' && at(1) == '/')) {
      while (pos_ < text_.size() && at(0) != '\n') advance();
    } else if (c == '/' && at(1) == '*') {
      int line = line_, column = column_;
      advance(2);
      while (pos_ < text_.size() && !(at(0) == '*' && at(1) == '/')) advance();
      if (pos_ >= text_.size()) fail(line, column, "unterminated comment");
      advance(2);
    } else {
      return;
    }
  }
}

const Token& Lexer::peek() {
  if (!peeked_) {
    lookahead_ = scan();
    peeked_ = true;
  }
  return lookahead_;
}

Token Lexer::next() {
  if (peeked_) {
    peeked_ = false;
    return std::move(lookahead_);
  }
  return scan();
}

Token Lexer::scan() {
  skip_blanks_and_comments();
  Token t;
  t.offset = pos_;
  t.line = line_;
  t.column = column_;
  if (pos_ >= text_.size()) return t;
  char c = at(0);
  if (is_ident_start(c)) {
    std::size_t n = 0;
    while (is_ident_char(at(n))) ++n;
    t.kind = Token::Kind::identifier;
    advance(n);
  } else if (is_digit(c) || (c == '.' && is_digit(at(1)))) {
    scan_number(t);
  } else if (c == '"' || c == '\'') {
    scan_string(t, c);
  } else if (is_punct(c)) {
    t.kind = Token::Kind::punct;
    advance();
  } else {
    fail(t.line, t.column, "unexpected character " + quote_for_message(text_.substr(pos_, 1)));
  }
  t.raw = text_.substr(t.offset, pos_ - t.offset);
  return t;
}

void Lexer::scan_number(Token& t) {
  std::size_t n = 0;
  bool real = false;
  while (is_digit(at(n))) ++n;
  if (at(n) == '.' && !is_ident_start(at(n + 1))) {
    real = true;
    ++n;
    while (is_digit(at(n))) ++n;
  }
  if (at(n) == 'e' || at(n) == 'E') {
    std::size_t m = n + 1;
    if (at(m) == '+' || at(m) == '-') ++m;
    if (is_digit(at(m))) {
      real = true;
      n = m;
      while (is_digit(at(n))) ++n;
    }
  }
  if (is_ident_char(at(n)) || at(n) == '.')
    fail(t.line, t.column, "malformed number " + quote_for_message(text_.substr(pos_, n + 1)));
  t.kind = real ? Token::Kind::real : Token::Kind::integer;
  advance(n);
}

void Lexer::scan_string(Token& t, char quote) {
  t.kind = quote == '"' ? Token::Kind::string : Token::Kind::quoted_name;
  advance();
  for (;;) {
    if (pos_ >= text_.size()) fail(t.line, t.column, "unterminated string");
    char c = at(0);
    if (c == quote) {
      advance();
      break;
    }
    if (c == '\n') fail(t.line, t.column, "unterminated string (newline before the closing quote)");
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
      fail(line_, column_,
           "control character " + quote_for_message(text_.substr(pos_, 1)) +
               " in a string (write it as an escape)");
    if (c != '\\') {
      t.value += c;
      advance();
    } else {
      int line = line_, column = column_;
      char e = at(1);
      static constexpr std::string_view kFrom = "\"\\'/?ntrbfav";
      static constexpr std::string_view kTo = "\"\\'/?\n\t\r\b\f\a\v";
      if (auto k = kFrom.find(e); e != '\0' && k != std::string_view::npos) {
        t.value += kTo[k];
        advance(2);
      } else if (e >= '0' && e <= '7') {
        int v = 0;
        std::size_t n = 1;
        for (; n <= 3 && at(n) >= '0' && at(n) <= '7' && v * 8 + (at(n) - '0') < 256; ++n)
          v = v * 8 + (at(n) - '0');
        if (v == 0) fail(line, column, "NUL character in a string");
        t.value += static_cast<char>(v);
        advance(n);
      } else {
        fail(line, column,
             "unknown escape " + quote_for_message(text_.substr(pos_, 2)) + " in a string");
      }
    }
    if (t.value.size() > limits_.max_string_bytes)
      fail(
          t.line, t.column,
          "string longer than the limit of " + std::to_string(limits_.max_string_bytes) + " bytes");
  }
  if (!valid_utf8(t.value)) fail(t.line, t.column, "string is not valid UTF-8");
}

}  // namespace pilot::jobs::detail
