// The JDL grammar: a block of `name = value;` attributes, where a value is a literal, a list, a
// nested block, or an expression kept as source text. Expressions are tokenised (so strings,
// brackets and comments inside them are understood) but not evaluated.

#include <charconv>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "iequals.hpp"
#include "jdl_lexer.hpp"
#include "jobs/jdl.hpp"

namespace pilot::jobs {
namespace {

using detail::iequals;
using detail::Lexer;
using detail::quote_for_message;
using detail::Token;

enum class Context { block, list, bare };

std::string describe(const Token& t) {
  return t.kind == Token::Kind::end ? "the end of the input" : quote_for_message(t.raw);
}

bool is_operand(const Token& t) {
  switch (t.kind) {
    case Token::Kind::string:
    case Token::Kind::quoted_name:
    case Token::Kind::integer:
    case Token::Kind::real:
      return true;
    case Token::Kind::identifier:
      return !iequals(t.raw, "is") && !iequals(t.raw, "isnt");
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view source, const JdlLimits& limits)
      : text_(text), lex_(text, source, limits), limits_(limits) {}

  Jdl parse() {
    Jdl jdl;
    const Token& first = lex_.peek();
    if (first.kind == Token::Kind::end) lex_.fail(first, "empty job description");
    if (first.is('[')) {
      Token open = lex_.next();
      jdl.attributes = attributes(Context::block, 1, open);
      Token after = lex_.next();
      if (after.kind != Token::Kind::end)
        lex_.fail(after, "unexpected " + describe(after) + " after the closing ']'");
    } else {
      jdl.attributes = attributes(Context::bare, 0, first);
    }
    return jdl;
  }

 private:
  void check_depth(int depth, const Token& at) {
    if (depth > limits_.max_depth)
      lex_.fail(at, "nesting deeper than the limit of " + std::to_string(limits_.max_depth));
  }

  void count_element(const Token& at) {
    if (++elements_ > limits_.max_elements)
      lex_.fail(at, "more than " + std::to_string(limits_.max_elements) +
                        " attributes and list elements");
  }

  std::string where(const Token& t) const {
    return std::to_string(t.line) + ":" + std::to_string(t.column);
  }

  std::vector<JdlAttribute> attributes(Context ctx, int depth, const Token& open) {
    check_depth(depth, open);
    std::vector<JdlAttribute> out;
    for (;;) {
      Token name = lex_.next();
      if (ctx == Context::block && name.is(']')) return out;
      if (ctx == Context::bare && name.kind == Token::Kind::end) return out;
      if (name.kind == Token::Kind::end)
        lex_.fail(name, "missing ']' to close the block opened at " + where(open));
      if (name.kind != Token::Kind::identifier)
        lex_.fail(name, "expected an attribute name, found " + describe(name));
      count_element(name);
      for (const auto& a : out)
        if (iequals(a.name, name.raw))
          lex_.fail(name, "attribute '" + std::string(name.raw) + "' given twice (first at " +
                              std::to_string(a.line) + ":" + std::to_string(a.column) + ")");
      Token eq = lex_.next();
      if (!eq.is('='))
        lex_.fail(eq, "expected '=' after '" + std::string(name.raw) + "', found " + describe(eq));
      path_.push_back(name.raw);
      JdlAttribute attr{std::string(name.raw), value_of_attribute(ctx, depth, name), name.line,
                        name.column};
      path_.pop_back();
      out.push_back(std::move(attr));
      Token sep = lex_.next();
      if (sep.is(';')) continue;
      if (ctx == Context::block && sep.is(']')) return out;
      if (ctx == Context::bare && sep.kind == Token::Kind::end) return out;
      if (sep.kind == Token::Kind::end && ctx == Context::block)
        lex_.fail(sep, "missing ']' to close the block opened at " + where(open));
      lex_.fail(sep, "expected ';' after the value of '" + std::string(name.raw) + "', found " +
                         describe(sep));
    }
  }

  // A failure inside a value names the attribute it belongs to (the innermost, with its
  // enclosing blocks), so an operator can find it in a JDL of thousands of lines.
  JdlValue value_of_attribute(Context ctx, int depth, const Token& name) {
    try {
      return value(ctx, depth, name);
    } catch (const Error& e) {
      if (annotated_) throw;
      annotated_ = true;
      std::string path;
      for (auto p : path_) path += (path.empty() ? "" : ".") + std::string(p.substr(0, 64));
      throw Error(std::string(e.what()) + " (in attribute '" + path + "')");
    }
  }

  bool ends_value(const Token& t, Context ctx) const {
    if (t.kind == Token::Kind::end) return true;
    switch (ctx) {
      case Context::block:
        return t.is(';') || t.is(']');
      case Context::list:
        return t.is(',') || t.is('}');
      case Context::bare:
        return t.is(';');
    }
    return false;
  }

  JdlValue value(Context ctx, int depth, const Token& owner) {
    const Token& first = lex_.peek();
    if (ends_value(first, ctx))
      lex_.fail(first,
                "missing value for '" + std::string(owner.raw) + "' before " + describe(first));
    JdlValue v;
    if (first.is('[')) {
      Token open = lex_.next();
      v.kind = JdlValue::Kind::block;
      v.block = attributes(Context::block, depth + 1, open);
      expect_end_of_value(ctx);
      return v;
    }
    if (first.is('{')) {
      Token open = lex_.next();
      check_depth(depth + 1, open);
      v.kind = JdlValue::Kind::list;
      if (lex_.peek().is('}')) {
        lex_.next();
      } else {
        for (;;) {
          count_element(lex_.peek());
          v.list.push_back(value(Context::list, depth + 1, owner));
          Token sep = lex_.next();
          if (sep.is('}')) break;
          if (!sep.is(','))
            lex_.fail(sep, sep.kind == Token::Kind::end
                               ? "missing '}' to close the list opened at " + where(open)
                               : "expected ',' or '}' in the list opened at " + where(open) +
                                     ", found " + describe(sep));
        }
      }
      expect_end_of_value(ctx);
      return v;
    }
    return expression(ctx, depth);
  }

  void expect_end_of_value(Context ctx) {
    const Token& t = lex_.peek();
    if (!ends_value(t, ctx))
      lex_.fail(t, "unexpected " + describe(t) + " after a list or block (missing ';'?)");
  }

  // A '=' inside an expression is only valid as part of ==, !=, <=, >=, =?= or =!=.
  bool part_of_operator(const Token& eq) const {
    char before = eq.offset > 0 ? text_[eq.offset - 1] : '\0';
    char after = eq.offset + 1 < text_.size() ? text_[eq.offset + 1] : '\0';
    return std::string_view("=!<>?").find(before) != std::string_view::npos ||
           std::string_view("=?!").find(after) != std::string_view::npos;
  }

  JdlValue expression(Context ctx, int depth) {
    std::vector<Token> tokens;
    std::vector<Token> open;  // brackets not closed yet
    for (;;) {
      const Token& t = lex_.peek();
      if (open.empty() && ends_value(t, ctx)) break;
      // A stray ']' or '}' ends the value; the enclosing block or list reports it in context.
      if (open.empty() && (t.is(']') || t.is('}')) && !tokens.empty()) break;
      if (t.kind == Token::Kind::end)
        lex_.fail(open.back(), "'" + std::string(open.back().raw) + "' is never closed");
      Token tok = lex_.next();
      if (tok.is('(') || tok.is('[') || tok.is('{')) {
        open.push_back(tok);
        check_depth(depth + static_cast<int>(open.size()), tok);
      } else if (tok.is(')') || tok.is(']') || tok.is('}')) {
        static constexpr std::string_view kOpen = "([{", kClose = ")]}";
        char want = open.empty() ? '\0' : kClose[kOpen.find(open.back().raw[0])];
        if (tok.raw[0] != want)
          lex_.fail(tok, open.empty()
                             ? "unbalanced " + describe(tok)
                             : describe(tok) + " does not close '" + std::string(open.back().raw) +
                                   "' opened at " + where(open.back()));
        open.pop_back();
      } else if (tok.is('=') && tokens.empty()) {
        // `A == "x"` is a typo for `A = "x"`, not the value `= "x"`.
        lex_.fail(tok, "unexpected '=' at the start of a value");
      } else if (tok.is('=') && open.empty() && !part_of_operator(tok)) {
        lex_.fail(tok, "unexpected '=' in a value (missing ';' before this attribute?)");
      } else if (tok.is(';') && open.empty()) {
        lex_.fail(tok, "unexpected ';'");
      }
      if (!tokens.empty() && is_operand(tokens.back()) && is_operand(tok))
        lex_.fail(tok, "expected an operator or ';' between " + describe(tokens.back()) + " and " +
                           describe(tok));
      tokens.push_back(std::move(tok));
    }
    JdlValue v;
    const Token& first = tokens.front();
    const Token& last = tokens.back();
    if (tokens.size() == 1 && first.kind == Token::Kind::string) {
      v.kind = JdlValue::Kind::string;
      v.text = first.value;
      return v;
    }
    if (tokens.size() == 1 && first.kind == Token::Kind::identifier &&
        (iequals(first.raw, "true") || iequals(first.raw, "false"))) {
      v.kind = JdlValue::Kind::boolean;
      v.boolean = iequals(first.raw, "true");
      v.text = v.boolean ? "true" : "false";
      return v;
    }
    bool signed_number = tokens.size() == 2 && (first.is('-') || first.is('+')) &&
                         (last.kind == Token::Kind::integer || last.kind == Token::Kind::real);
    if (tokens.size() == 1 &&
        (first.kind == Token::Kind::integer || first.kind == Token::Kind::real))
      return number(first, "");
    if (signed_number) return number(last, first.is('-') ? "-" : "");
    v.kind = JdlValue::Kind::expression;
    v.text = std::string(text_.substr(first.offset, last.offset + last.raw.size() - first.offset));
    if (v.text.size() > limits_.max_string_bytes)
      lex_.fail(first, "expression longer than the limit of " +
                           std::to_string(limits_.max_string_bytes) + " bytes");
    return v;
  }

  JdlValue number(const Token& t, std::string_view sign) {
    JdlValue v;
    v.text = std::string(sign) + std::string(t.raw);
    const char* b = v.text.data();
    const char* e = b + v.text.size();
    if (t.kind == Token::Kind::integer) {
      v.kind = JdlValue::Kind::integer;
      auto [p, ec] = std::from_chars(b, e, v.integer);
      if (ec != std::errc() || p != e) lex_.fail(t, "integer " + v.text + " out of range");
    } else {
      v.kind = JdlValue::Kind::real;
      auto [p, ec] = std::from_chars(b, e, v.real);
      if (ec != std::errc() || p != e) lex_.fail(t, "real number " + v.text + " out of range");
    }
    return v;
  }

  std::string_view text_;
  Lexer lex_;
  const JdlLimits& limits_;
  std::size_t elements_ = 0;
  std::vector<std::string_view> path_;  // names of the attributes being parsed, outermost first
  bool annotated_ = false;
};

}  // namespace

Jdl parse_jdl(std::string_view text, std::string_view source, const JdlLimits& limits) {
  if (text.size() > limits.max_bytes)
    throw Error(std::string(source) + ": job description of " + std::to_string(text.size()) +
                " bytes is larger than the limit of " + std::to_string(limits.max_bytes) +
                " bytes");
  return Parser(text, source, limits).parse();
}

}  // namespace pilot::jobs
