#pragma once
// The one plain trim of the project: key = value files (MJF, batch ads, checkpoints), JDL scalars,
// token files. (platform/src/text.hpp keeps Python's str.strip() rules for LbPlatformUtils parity.)

#include <string_view>

namespace pilot {

// `s` without leading and trailing ASCII whitespace (space, \t, \n, \v, \f, \r).
constexpr std::string_view trim(std::string_view s) {
  constexpr std::string_view ws = " \t\n\v\f\r";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace pilot
