#include "mjf/value.hpp"

#include <charconv>

namespace pilot::mjf {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::string> clean_value(std::string_view raw) {
  while (!raw.empty() && is_space(raw.front())) raw.remove_prefix(1);
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  if (raw.empty() || raw.find_first_of("\r\n") != std::string_view::npos) return std::nullopt;
  return std::string(raw);
}

std::optional<std::int64_t> parse_integer(std::string_view raw) {
  auto v = clean_value(raw);
  if (!v) return std::nullopt;
  std::string_view s = *v;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!is_digit(c)) return std::nullopt;
  // from_chars does not take a '+', and a '-' is kept in front of the digits for INT64_MIN.
  std::string digits = negative ? "-" + std::string(s) : std::string(s);
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return out;
}

std::optional<double> parse_decimal(std::string_view raw) {
  auto v = clean_value(raw);
  if (!v) return std::nullopt;
  std::string_view s = *v;
  std::size_t i = (s.front() == '+' || s.front() == '-') ? 1 : 0;
  std::size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++frac_digits;
  }
  if (i != s.size() || int_digits + frac_digits == 0) return std::nullopt;
  std::string_view num = s.front() == '+' ? s.substr(1) : s;
  double out = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), out);
  if (ec != std::errc() || end != num.data() + num.size()) return std::nullopt;
  return out;
}

}  // namespace pilot::mjf
