// Typed reads of JDL attributes. DIRAC writes numbers as quoted strings in places (its ClassAd
// stores every value as text and strips quotes on reading), so the readers accept both forms.

#include <charconv>
#include <cmath>

#include "core/error.hpp"
#include "core/trim.hpp"
#include "iequals.hpp"
#include "jobs/jdl.hpp"

namespace pilot::jobs {
namespace {

[[noreturn]] void wrong_type(const JdlAttribute& a, const char* wanted) {
  std::string shown = to_jdl_text(a.value);
  if (shown.size() > 80) shown = shown.substr(0, 77) + "...";
  throw Error("JDL attribute " + a.name + " (line " + std::to_string(a.line) + ") must be " +
              wanted + ", not the " + kind_name(a.value.kind) + " " + shown);
}

// The text of a scalar the way DIRAC would read it as a string.
std::optional<std::string> scalar_text(const JdlValue& v) {
  switch (v.kind) {
    case JdlValue::Kind::string:
    case JdlValue::Kind::integer:
    case JdlValue::Kind::real:
    case JdlValue::Kind::boolean:
      return v.text;
    default:
      return std::nullopt;
  }
}

std::string escape(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\v':
        out += "\\v";
        break;
      default: {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20) {
          out += '\\';
          out += static_cast<char>('0' + (u >> 6));
          out += static_cast<char>('0' + ((u >> 3) & 7));
          out += static_cast<char>('0' + (u & 7));
        } else {
          out += c;
        }
      }
    }
  }
  return out + "\"";
}

}  // namespace

const char* kind_name(JdlValue::Kind kind) {
  switch (kind) {
    case JdlValue::Kind::string:
      return "string";
    case JdlValue::Kind::integer:
      return "integer";
    case JdlValue::Kind::real:
      return "real";
    case JdlValue::Kind::boolean:
      return "boolean";
    case JdlValue::Kind::list:
      return "list";
    case JdlValue::Kind::block:
      return "block";
    case JdlValue::Kind::expression:
      return "expression";
  }
  return "value";
}

const JdlAttribute* Jdl::find(std::string_view name) const {
  for (const auto& a : attributes)
    if (detail::iequals(a.name, name)) return &a;
  return nullptr;
}

std::string to_jdl_text(const JdlValue& v) {
  switch (v.kind) {
    case JdlValue::Kind::string:
      return escape(v.text);
    case JdlValue::Kind::list: {
      std::string out = "{";
      for (std::size_t i = 0; i < v.list.size(); ++i)
        out += (i ? ", " : " ") + to_jdl_text(v.list[i]);
      return out + (v.list.empty() ? "}" : " }");
    }
    case JdlValue::Kind::block: {
      std::string out = "[";
      for (const auto& a : v.block) out += " " + a.name + " = " + to_jdl_text(a.value) + ";";
      return out + (v.block.empty() ? "]" : " ]");
    }
    default:
      return v.text;
  }
}

std::optional<std::string> jdl_string(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  if (auto s = scalar_text(a->value)) return s;
  wrong_type(*a, "a string");
}

std::optional<std::int64_t> jdl_integer(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  const auto& v = a->value;
  if (v.kind == JdlValue::Kind::integer) return v.integer;
  if (v.kind == JdlValue::Kind::real && std::isfinite(v.real) && v.real == std::floor(v.real) &&
      std::fabs(v.real) < 9.2e18)
    return static_cast<std::int64_t>(v.real);
  if (v.kind == JdlValue::Kind::string) {
    auto t = trim(v.text);
    std::int64_t out = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size()) return out;
  }
  wrong_type(*a, "an integer");
}

std::optional<double> jdl_real(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  const auto& v = a->value;
  if (v.kind == JdlValue::Kind::real) return v.real;
  if (v.kind == JdlValue::Kind::integer) return static_cast<double>(v.integer);
  if (v.kind == JdlValue::Kind::string) {
    auto t = trim(v.text);
    double out = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    if (!t.empty() && ec == std::errc() && p == t.data() + t.size() && std::isfinite(out))
      return out;
  }
  wrong_type(*a, "a number");
}

std::optional<bool> jdl_boolean(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  const auto& v = a->value;
  if (v.kind == JdlValue::Kind::boolean) return v.boolean;
  if (v.kind == JdlValue::Kind::string) {
    if (detail::iequals(trim(v.text), "true")) return true;
    if (detail::iequals(trim(v.text), "false")) return false;
  }
  wrong_type(*a, "true or false");
}

std::optional<std::vector<std::string>> jdl_string_list(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  const auto& v = a->value;
  std::vector<std::string> out;
  if (v.kind == JdlValue::Kind::list) {
    for (const auto& e : v.list) {
      auto s = scalar_text(e);
      if (!s) wrong_type(*a, "a list of strings");
      out.push_back(std::move(*s));
    }
    return out;
  }
  // DIRAC reads a single string as a comma-separated list ("a, b" is two elements).
  auto s = scalar_text(v);
  if (!s) wrong_type(*a, "a string or a list of strings");
  std::string_view rest = *s;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto item = trim(rest.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

std::optional<Jdl> jdl_block(const Jdl& jdl, std::string_view name) {
  const auto* a = jdl.find(name);
  if (!a) return std::nullopt;
  if (a->value.kind != JdlValue::Kind::block) wrong_type(*a, "a block [ ... ]");
  return Jdl{a->value.block};
}

}  // namespace pilot::jobs
