#pragma once
// ASCII case-insensitive comparison: JDL names and keywords are case-insensitive, and the pilot
// stays in the C locale.

#include <string_view>

namespace pilot::jobs::detail {

inline char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace pilot::jobs::detail
