#pragma once
// Tokens of the JDL syntax, with the line and column each starts at. Private to the parser.

#include <cstddef>
#include <string>
#include <string_view>

#include "jobs/jdl.hpp"

namespace pilot::jobs::detail {

struct Token {
  enum class Kind { end, identifier, string, quoted_name, integer, real, punct };
  Kind kind = Kind::end;
  std::string_view raw;    // source text of the token
  std::string value;       // strings: unescaped contents
  std::size_t offset = 0;  // byte offset of the first character
  int line = 1;
  int column = 1;
  bool is(char c) const { return kind == Kind::punct && raw.size() == 1 && raw[0] == c; }
};

class Lexer {
 public:
  Lexer(std::string_view text, std::string_view source, const JdlLimits& limits)
      : text_(text), source_(source), limits_(limits) {}

  const Token& peek();
  Token next();
  std::size_t offset() const { return pos_; }

  [[noreturn]] void fail(int line, int column, const std::string& what) const;
  [[noreturn]] void fail(const Token& at, const std::string& what) const {
    fail(at.line, at.column, what);
  }

 private:
  Token scan();
  void skip_blanks_and_comments();
  void advance(std::size_t n = 1);
  char at(std::size_t i) const { return pos_ + i < text_.size() ? text_[pos_ + i] : '\0'; }
  void scan_string(Token& t, char quote);
  void scan_number(Token& t);

  std::string_view text_;
  std::string_view source_;
  const JdlLimits& limits_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
  bool peeked_ = false;
  Token lookahead_;
};

// Shows a token or character the way error messages quote it: printable ASCII as is, anything
// else as \xNN, so binary junk never reaches a terminal raw.
std::string quote_for_message(std::string_view raw);

}  // namespace pilot::jobs::detail
