#pragma once
// The one whole-text number parser of the project's small formats (/proc files, control lines,
// command-line options, failpoint specs): the text is the number and nothing else.

#include <charconv>
#include <optional>
#include <string_view>

namespace pilot {

// `text` as a T, nullopt when it is empty, has anything besides the digits (a leading '-' for a
// signed T), or does not fit.
template <typename T>
std::optional<T> whole_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace pilot
