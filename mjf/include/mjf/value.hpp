#pragma once
// The MJF value rules (HSF-TN-2016-02 as the pilot applies them): one value per key, surrounding
// whitespace (space, tab, CR, LF) stripped, an empty or multi-line value is absent, integers are
// `[+-]?[0-9]+` in full, decimals are plain decimal numbers. Anything else is absent, never
// truncated or guessed: `1398790803.78` or `12abc` where an integer is required is no value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::mjf {

// The value with surrounding whitespace removed; nullopt when empty or when a line break remains
// inside it.
std::optional<std::string> clean_value(std::string_view raw);

// `[+-]?[0-9]+` after clean_value; nullopt otherwise or when it does not fit 64 bits.
std::optional<std::int64_t> parse_integer(std::string_view raw);

// `[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)` after clean_value (no exponent, no inf/nan, no locale).
std::optional<double> parse_decimal(std::string_view raw);

}  // namespace pilot::mjf
